//! A TOML file of globals, loaded at start and watched for changes.
//!
//! ```toml
//! FEATURE_X = true
//! MAX_ITEMS = 100
//! RATIO = 0.25
//! TIMEOUT = "1m30s"
//!
//! [limits]            # names may be grouped: this is the global `limits.burst`
//! burst = 64
//! ```
//!
//! Every key is a global's name (keys of a table are joined to it with `.`), and every value is
//! a bool, an integer, a float or a string of the value syntax of [the value spec](crate::spec) (a
//! duration such as `"1m30s"`, or an integer too large for TOML such as `"18446744073709551615"`).
//!
//! [`WatchedFile::start`] loads the file, applies it to a registry, and watches the file's
//! directory, not the file: an editor or deploy tool that writes a new file and renames it over
//! the old one (and Kubernetes, which swaps a symbolic link to a directory) replaces the file's
//! inode, which a watch on the file itself stops seeing after the first time. At every event in
//! the directory it reads the file again; if the bytes changed, it parses them, and applies the
//! difference from the version last applied as one [batch](wasmtime_global::Globals::batch):
//! names that disappeared are deleted. A version that does not read, parse or fit the names'
//! types is not applied at all: the last good values stay in force, the error is in
//! [`WatchedFile::status`], and a `tracing` warning (target `wasmtime_global_sources::file`)
//! says why. A file deleted and not replaced is such an error: its values stay.
//!
//! Write the file by renaming a complete new one over it. A program that rewrites it in place
//! may be seen half-way, and a half-written file that still parses (cut at the end of a line)
//! is applied as it stands, until the rest of the write arrives a moment later.

use crate::apply::{self, Applied};
use crate::status::Watched;
use crate::{Literal, SyntaxError, TypeError};
use notify::{RecursiveMode, Watcher};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use wasmtime_global::Globals;
use wasmtime_global::abi::NameError;

/// Why a version of the file was not applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The file could not be read (it may be missing).
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The reason.
        #[source]
        source: std::io::Error,
    },
    /// The file is not UTF-8 TOML.
    #[error("not TOML: {message}")]
    Toml {
        /// The TOML parser's message, with the line and column.
        message: String,
    },
    /// A key is not a valid global name.
    #[error("{name:?} is not a valid global name: {source}")]
    Name {
        /// The name, keys joined with `.`.
        name: String,
        /// The rule it breaks.
        #[source]
        source: NameError,
    },
    /// Two keys give one name (`a.b = 1` and `"a.b" = 2`).
    #[error("{name:?} is given twice")]
    Duplicate {
        /// The name.
        name: String,
    },
    /// A value is an array or a date, which no global holds.
    #[error("{name:?} is {kind}, which no global holds")]
    Unsupported {
        /// The name.
        name: String,
        /// `an array` or `a date`.
        kind: &'static str,
    },
    /// A string value is not of the value syntax.
    #[error("{name:?}: {source}")]
    Syntax {
        /// The name.
        name: String,
        /// Why.
        #[source]
        source: SyntaxError,
    },
    /// A value is not of the type the name has (defined by the embedder, or declared by guests).
    #[error("{name:?}: {source}")]
    Type {
        /// The name.
        name: String,
        /// Why.
        #[source]
        source: TypeError,
    },
    /// The registry refused the batch (a guest declared a name with another type meanwhile).
    #[error("the registry refused the file's changes: {0}")]
    Registry(#[from] wasmtime_global::Error),
    /// The directory could not be watched, or the watch failed.
    #[error("watching {path}: {source}")]
    Watch {
        /// The directory.
        path: PathBuf,
        /// The reason.
        #[source]
        source: notify::Error,
    },
}

/// The globals a TOML text gives, by name (see the [module](self) docs).
///
/// ```
/// use wasmtime_global_sources::{Literal, file};
///
/// let globals = file::parse("TIMEOUT = \"1m30s\"\n[limits]\nburst = 64\n")?;
/// assert_eq!(globals["TIMEOUT"], Literal::Duration(90_000_000_000));
/// assert_eq!(globals["limits.burst"], Literal::Int(64));
/// # Ok::<(), file::FileError>(())
/// ```
///
/// # Errors
///
/// The first [`FileError`] of the text, in key order.
pub fn parse(text: &str) -> Result<BTreeMap<String, Literal>, FileError> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| FileError::Toml {
        message: e.to_string().trim_end().to_owned(),
    })?;
    let mut out = BTreeMap::new();
    flatten(&mut out, "", &table)?;
    Ok(out)
}

fn flatten(
    out: &mut BTreeMap<String, Literal>,
    prefix: &str,
    table: &toml::Table,
) -> Result<(), FileError> {
    for (key, value) in table {
        let name = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let literal = match value {
            toml::Value::Table(inner) => {
                flatten(out, &name, inner)?;
                continue;
            }
            toml::Value::Boolean(b) => Literal::Bool(*b),
            toml::Value::Integer(i) => Literal::Int(i128::from(*i)),
            toml::Value::Float(x) => Literal::Float(*x),
            toml::Value::String(text) => {
                Literal::parse(text).map_err(|source| FileError::Syntax {
                    name: name.clone(),
                    source,
                })?
            }
            toml::Value::Array(_) => {
                return Err(FileError::Unsupported {
                    name,
                    kind: "an array",
                });
            }
            toml::Value::Datetime(_) => {
                return Err(FileError::Unsupported {
                    name,
                    kind: "a date",
                });
            }
        };
        if let Err(source) = wasmtime_global::abi::check_name(name.as_bytes()) {
            return Err(FileError::Name { name, source });
        }
        if out.insert(name.clone(), literal).is_some() {
            return Err(FileError::Duplicate { name });
        }
    }
    Ok(())
}

/// Loads `path` into `globals` once, as one batch; returns the number of names it holds.
///
/// # Errors
///
/// A [`FileError`]; then nothing is applied.
pub fn load(path: impl AsRef<Path>, globals: &Globals) -> Result<usize, FileError> {
    let mut applied = Applied::new();
    let bytes = read(path.as_ref())?;
    apply_version(globals, &mut applied, &bytes)?;
    Ok(applied.len())
}

fn read(path: &Path) -> Result<Vec<u8>, FileError> {
    std::fs::read(path).map_err(|source| FileError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Applies the file's bytes as one batch: the difference from `applied`.
fn apply_version(
    globals: &Globals,
    applied: &mut Applied,
    bytes: &[u8],
) -> Result<usize, FileError> {
    let text = std::str::from_utf8(bytes).map_err(|e| FileError::Toml {
        message: format!("not UTF-8: {e}"),
    })?;
    let mut wanted = BTreeMap::new();
    for (name, literal) in parse(text)? {
        let value = apply::resolve(globals, &name, literal).map_err(|source| FileError::Type {
            name: name.clone(),
            source,
        })?;
        wanted.insert(name, value);
    }
    let changes = apply::diff(applied, &wanted);
    apply::commit(globals, applied, &changes)?;
    Ok(changes.len())
}

/// What a [`WatchedFile`] has done, for health checks.
#[derive(Clone, Debug)]
pub struct FileStatus {
    /// Versions of the file applied, the first load included (a version with no change counts).
    pub versions: u64,
    /// Versions refused: not read, not parsed, or not of the names' types.
    pub failures: u64,
    /// Times the file was read: at start, and at each event in its directory except reads.
    pub reads: u64,
    /// Names the file sets now (from its last good version).
    pub names: usize,
    /// Why the newest version was refused, while it is the newest; `None` after a good one.
    pub last_error: Option<Arc<FileError>>,
}

/// A file applied to a registry and watched: see the [module](self) docs. Dropping it stops
/// the watch; the values it set stay.
#[derive(Debug)]
pub struct WatchedFile {
    shared: Arc<Shared>,
    _watcher: notify::RecommendedWatcher,
}

#[derive(Debug)]
struct Shared {
    path: PathBuf,
    globals: Globals,
    /// Held while a version is read and applied, so that one is applied at a time.
    state: Mutex<State>,
    status: Watched<FileStatus>,
}

#[derive(Debug)]
struct State {
    applied: Applied,
    /// The bytes of the newest version read, applied or refused.
    last_bytes: Option<Vec<u8>>,
}

impl WatchedFile {
    /// Loads `path` into `globals` as one batch and watches it from now on.
    ///
    /// # Errors
    ///
    /// The [`FileError`] of the first load, or [`FileError::Watch`] if the file's directory
    /// cannot be watched; then nothing is applied and nothing watched.
    pub fn start(path: impl AsRef<Path>, globals: &Globals) -> Result<WatchedFile, FileError> {
        let path = path.as_ref().to_owned();
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        let shared = Arc::new(Shared {
            path,
            globals: globals.clone(),
            state: Mutex::new(State {
                applied: Applied::new(),
                last_bytes: None,
            }),
            status: Watched::new(FileStatus {
                versions: 0,
                failures: 0,
                reads: 1,
                names: 0,
                last_error: None,
            }),
        });
        let weak = Arc::downgrade(&shared);
        let watch_error = |source| FileError::Watch {
            path: dir.clone(),
            source,
        };
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                use notify::EventKind::Access;
                use notify::event::{AccessKind, AccessMode};
                // Opening and reading a file, as every reload does, are events too: reading again
                // for them would never end.
                if let Ok(notify::Event {
                    kind: Access(kind), ..
                }) = &event
                    && *kind != AccessKind::Close(AccessMode::Write)
                {
                    return;
                }
                let Some(shared) = weak.upgrade() else { return };
                match event {
                    Ok(_) => drop(shared.reload()),
                    Err(source) => {
                        let error = FileError::Watch {
                            path: shared.path.clone(),
                            source,
                        };
                        shared.refused(error);
                    }
                }
            })
            .map_err(watch_error)?;
        // Watch first, then load: a change made meanwhile is seen by one or the other.
        watcher
            .watch(&dir, RecursiveMode::NonRecursive)
            // A directory that is not there: say that the file cannot be read.
            .map_err(|e| read(&shared.path).err().unwrap_or_else(|| watch_error(e)))?;
        let mut state = shared.state.lock();
        let bytes = read(&shared.path)?;
        apply_version(&shared.globals, &mut state.applied, &bytes)?;
        state.last_bytes = Some(bytes);
        shared.applied(&state, 0);
        drop(state);
        Ok(WatchedFile {
            shared,
            _watcher: watcher,
        })
    }

    /// The file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// What the watch has done so far.
    #[must_use]
    pub fn status(&self) -> FileStatus {
        self.shared.status.get()
    }

    /// Reads and applies the file now, as a change seen by the watch would (for a signal such as
    /// `SIGHUP`, or a file system that sends no events). Returns whether the bytes were new.
    ///
    /// # Errors
    ///
    /// Why the new version was refused (also in [`status`](WatchedFile::status)).
    pub fn reload(&self) -> Result<bool, Arc<FileError>> {
        self.shared.reload()
    }

    /// Waits until `done` holds for the status, or `timeout` passes; returns the last status
    /// seen and whether `done` held.
    pub fn wait_for(
        &self,
        timeout: Duration,
        done: impl FnMut(&FileStatus) -> bool,
    ) -> (FileStatus, bool) {
        self.shared.status.wait_for(timeout, done)
    }
}

impl Shared {
    fn reload(&self) -> Result<bool, Arc<FileError>> {
        let mut state = self.state.lock();
        self.status.update(|s| s.reads += 1);
        let bytes = match read(&self.path) {
            Ok(bytes) => bytes,
            Err(error) => {
                // Whatever comes back is new, even the same bytes: it ends this error.
                state.last_bytes = None;
                return Err(self.refused(error));
            }
        };
        // An event about another file of the directory, or a second event of one write: the
        // bytes were applied, or refused, already.
        if state.last_bytes.as_deref() == Some(&bytes[..]) {
            return Ok(false);
        }
        let result = apply_version(&self.globals, &mut state.applied, &bytes);
        state.last_bytes = Some(bytes);
        match result {
            Ok(changes) => {
                self.applied(&state, changes);
                Ok(true)
            }
            Err(error) => Err(self.refused(error)),
        }
    }

    fn applied(&self, state: &State, changes: usize) {
        let names = state.applied.len();
        self.status.update(|s| {
            s.versions += 1;
            s.names = names;
            s.last_error = None;
        });
        tracing::info!(
            target: "wasmtime_global_sources::file",
            path = %self.path.display(),
            names,
            changes,
            "applied a version of the globals file"
        );
    }

    fn refused(&self, error: FileError) -> Arc<FileError> {
        let error = Arc::new(error);
        self.status.update(|s| {
            s.failures += 1;
            s.last_error = Some(Arc::clone(&error));
        });
        tracing::warn!(
            target: "wasmtime_global_sources::file",
            path = %self.path.display(),
            error = %error,
            "kept the last good globals: a new version of the file was refused"
        );
        error
    }
}
