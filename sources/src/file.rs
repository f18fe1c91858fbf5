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
//! inode, which a watch on the file itself stops seeing after the first time. It also watches the
//! directory above, so that the file's directory replaced as a whole (renamed away and made again,
//! or a link to it switched, `current -> v1` to `current -> v2`) is watched again where the path
//! now leads; while the path leads nowhere, [`WatchedFile::status`] says so. At every event in the
//! directory it reads the file again; if the bytes changed, it parses them, and applies the
//! difference from the version last applied as one [batch](wasmtime_global::Globals::batch): names
//! that disappeared are deleted. A version that does not read, parse or fit the names' types is
//! not applied at all: the last good values stay in force, the error is in
//! [`WatchedFile::status`], and a `tracing` warning (target `wasmtime_global_sources::file`) says
//! why. A file deleted and not replaced is such an error: its values stay.
//!
//! A version that would delete a name the file sets, or that does not parse, may be a file seen
//! half-way through a write in place (`echo … > globals.toml` truncates the file, then writes
//! it). So it is applied (or refused) only once it has settled: the watch reads the file again
//! [`SETTLE`] later (50 ms; [`FileOptions::settle`] changes it), and again, until two reads agree
//! (at most 20 times). A file emptied for good is applied then, its names deleted. A version
//! that only sets names is applied at once. Still, write the file by renaming a complete new
//! one over it: a writer slower than the settle period can be seen half-way.
//!
//! # Types
//!
//! A value takes the type its name has when the version is applied: the type the embedder
//! defined, else the type guests declared it with ([`known_type`](crate::known_type)); one that
//! is none of that type refuses the version. A name of no type yet is set as written
//! ([`Value::Literal`](wasmtime_global::Value::Literal)) and takes the type it gets later, so
//! `RATIO = 1` is 1.0 to an `F64` guest whichever came first; one that is none of the type it
//! gets (`TIMEOUT = 30` for a `DURATION`: a duration needs a unit) is withheld, and the guests
//! read their default, as they would had the version been refused: [`WatchedFile::withheld`]
//! names it (`spec/VALUES.md` §3).
//!
//! The file can also give its names types itself, so that what a value means depends on
//! neither the embedder's code nor the order things happen in: a top-level table [`TYPES`]
//! (`"$types"`, quoted: no bare key is it, and it is no name) names the type of each name it
//! lists, its keys joined with `.` as the values' are:
//!
//! ```toml
//! RATIO = 1
//! TIMEOUT = "30s"
//! limits.burst = 64
//!
//! ["$types"]
//! RATIO = "F64"             # 1.0 to every guest; a guest that declares RATIO otherwise is refused
//! TIMEOUT = "DURATION"
//! "limits.burst" = "U64"
//! ```
//!
//! A value of a typed name is that type's value (§3 of the value spec, `RATIO = 1` is `F64`
//! 1.0) or refuses the version, and it is set typed: like any typed value set, it fixes the
//! name's type for the guests that declare it later (another type is refused with
//! `TYPE_MISMATCH`, which the embedder's [`GlobalsCtx::explain`](wasmtime_global::GlobalsCtx::explain)
//! puts in the guest's trap), and a version that gives a type other than the embedder's
//! definition or the guests' declarations is refused ([`FileError::Registry`]). A type must be
//! `BOOL`, `U64`, `I64`, `F64` or `DURATION` ([`FileError::NotAType`]), and a name with a type
//! must have a value in the same version ([`FileError::TypeWithoutValue`]: a type alone would
//! guard nothing). Removing a name's type from the file makes its value a literal again.
//!
//! # What is read
//!
//! Every read, at start and at each change, takes a **regular file** of at most
//! [`MAX_SIZE`] bytes (1 MiB; [`FileOptions::max_size`] changes it), and nothing else:
//!
//! - A FIFO, a device (`/dev/zero`), a socket or a directory is refused with
//!   [`FileError::NotRegular`], looked at before it is opened and checked again on the opened
//!   file (which is opened non-blocking, so that a FIFO cannot hold the watch).
//! - A file larger than the cap is refused with [`FileError::TooLarge`], from its size before a
//!   byte is read; and at most the cap and one byte are read, should it grow meanwhile.
//! - By default the path's symbolic links are followed, as Kubernetes' ConfigMap volumes need
//!   (a link to a directory swapped by rename). With
//!   [`FileOptions::follow_links(false)`](FileOptions::follow_links), for a file in a directory
//!   that someone less trusted can write, no link is followed after start: the file's
//!   directory is opened once, at start, and the file is opened in it by name with
//!   `O_NOFOLLOW`, so a link renamed over the file is refused with [`FileError::Link`] and a
//!   link renamed over one of the directories of the path is never taken (the watch stays on
//!   the directory it opened). Links in the path given at start, above the file, are followed
//!   then.
//!
//! Each of these refusals is a version that is not applied, as any other: the last good values
//! stay, and [`WatchedFile::status`] says why. What a writable directory still allows: who can
//! write the file's directory can write the globals (a regular file of its own), and a hard
//! link made there to the file lets them write it in place; keep the file where only those
//! who may set the globals can write.

use crate::apply::{self, Applied};
use crate::status::Watched;
use crate::{Int, Literal, SyntaxError, TypeError};
use notify::{RecursiveMode, Watcher};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use wasmtime_global::{Globals, ValueType};
use wasmtime_global_abi::NameError;

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
    /// The path names a FIFO, a device, a socket or a directory: only a regular file is read.
    #[error("{path} is {kind}, not a regular file")]
    NotRegular {
        /// The file.
        path: PathBuf,
        /// What it is: `a FIFO`, `a character device`, `a block device`, `a socket`,
        /// `a directory`, or `an unknown kind of file`.
        kind: &'static str,
    },
    /// The file is larger than the cap ([`MAX_SIZE`] unless [`FileOptions::max_size`] says
    /// otherwise); nothing of it is applied.
    #[error("{path} is larger than {max} bytes, the most a globals file may hold")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The cap, in bytes.
        max: u64,
    },
    /// The file is a symbolic link, and links are not followed
    /// ([`FileOptions::follow_links`]).
    #[error("{path} is a symbolic link, which this source does not follow")]
    Link {
        /// The file.
        path: PathBuf,
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
    /// A value of the `$types` table is not the name of a type (`BOOL`, `U64`, `I64`, `F64`,
    /// `DURATION`), or `$types` is not a table.
    #[error("{name:?} in `$types`: {text} is not a type (BOOL, U64, I64, F64 or DURATION)")]
    NotAType {
        /// The name (`$types` itself if it is not a table).
        name: String,
        /// What is there instead: the string, or what kind of TOML value it is.
        text: String,
    },
    /// `$types` gives a type to a name the file gives no value: a type alone would do nothing.
    #[error("{name:?} has a type in `$types` but no value in the file")]
    TypeWithoutValue {
        /// The name.
        name: String,
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

/// The key of the top-level table that gives names types (see [Types](self#types)): quoted in
/// TOML, so that no bare key is it.
pub const TYPES: &str = "$types";

/// One version of the file: its values, and the types it gives names.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Version {
    /// The values, by name.
    pub values: BTreeMap<String, Literal>,
    /// The types of the `$types` table, by name: each is a name of `values`.
    pub types: BTreeMap<String, ValueType>,
}

/// The version a TOML text is: its values and the types of its `$types` table (see the
/// [module](self) docs).
///
/// ```
/// use wasmtime_global::ValueType;
/// use wasmtime_global_sources::{Literal, file};
///
/// let version = file::parse_version("RATIO = 1\n[\"$types\"]\nRATIO = \"F64\"\n")?;
/// assert_eq!(version.values["RATIO"], Literal::Int(1.into()));
/// assert_eq!(version.types["RATIO"], ValueType::F64);
/// # Ok::<(), file::FileError>(())
/// ```
///
/// # Errors
///
/// The first [`FileError`] of the text, values first, in key order; then
/// [`FileError::TypeWithoutValue`] for a type given to a name with no value.
pub fn parse_version(text: &str) -> Result<Version, FileError> {
    let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| FileError::Toml {
        message: e.to_string().trim_end().to_owned(),
    })?;
    let types = table.remove(TYPES);
    let mut version = Version::default();
    flatten(&mut version.values, "", &table)?;
    match types {
        None => {}
        Some(toml::Value::Table(types)) => flatten_types(&mut version.types, "", &types)?,
        Some(other) => {
            return Err(FileError::NotAType {
                name: TYPES.to_owned(),
                text: kind(&other).to_owned(),
            });
        }
    }
    if let Some(name) = version
        .types
        .keys()
        .find(|name| !version.values.contains_key(*name))
    {
        return Err(FileError::TypeWithoutValue { name: name.clone() });
    }
    Ok(version)
}

/// What kind of TOML value `value` is, for an error.
fn kind(value: &toml::Value) -> &'static str {
    match value {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a float",
        toml::Value::Boolean(_) => "a bool",
        toml::Value::Datetime(_) => "a date",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    }
}

/// The values a TOML text gives, by name: [`parse_version`]'s values (the text is checked
/// whole, its `$types` table too).
///
/// ```
/// use wasmtime_global_sources::{Literal, file};
///
/// let globals = file::parse("TIMEOUT = \"1m30s\"\n[limits]\nburst = 64\n")?;
/// assert_eq!(globals["TIMEOUT"], Literal::Duration(90_000_000_000));
/// assert_eq!(globals["limits.burst"], Literal::Int(64.into()));
/// # Ok::<(), file::FileError>(())
/// ```
///
/// # Errors
///
/// The first [`FileError`] of the text, in key order.
pub fn parse(text: &str) -> Result<BTreeMap<String, Literal>, FileError> {
    parse_version(text).map(|version| version.values)
}

/// `prefix` and `key` joined with `.`, checked for length before they are (a name built at
/// every level of a deep dotted key was the square of the file in memory, and the error
/// carried all of it).
fn join(prefix: &str, key: &str) -> Result<String, FileError> {
    let len = if prefix.is_empty() {
        key.len()
    } else {
        prefix.len() + 1 + key.len()
    };
    if len > wasmtime_global_abi::MAX_NAME_LEN as usize {
        return Err(FileError::Name {
            name: crate::excerpt(&[prefix, if prefix.is_empty() { "" } else { "." }, key]),
            source: NameError::TooLong { len },
        });
    }
    Ok(if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    })
}

/// The types of the `$types` table under `prefix`, joined as values' names are.
fn flatten_types(
    out: &mut BTreeMap<String, ValueType>,
    prefix: &str,
    table: &toml::Table,
) -> Result<(), FileError> {
    for (key, value) in table {
        let name = join(prefix, key)?;
        let ty = match value {
            toml::Value::Table(inner) => {
                flatten_types(out, &name, inner)?;
                continue;
            }
            toml::Value::String(text) => ValueType::ALL
                .into_iter()
                .find(|ty| ty.name() == text)
                .ok_or_else(|| FileError::NotAType {
                    text: format!("{:?}", crate::excerpt(&[text.as_str()])),
                    name: name.clone(),
                })?,
            other => {
                return Err(FileError::NotAType {
                    name,
                    text: kind(other).to_owned(),
                });
            }
        };
        if let Err(source) = wasmtime_global_abi::check_name(name.as_bytes()) {
            return Err(FileError::Name { name, source });
        }
        if out.insert(name.clone(), ty).is_some() {
            return Err(FileError::Duplicate { name });
        }
    }
    Ok(())
}

fn flatten(
    out: &mut BTreeMap<String, Literal>,
    prefix: &str,
    table: &toml::Table,
) -> Result<(), FileError> {
    for (key, value) in table {
        let name = join(prefix, key)?;
        let literal = match value {
            toml::Value::Table(inner) => {
                flatten(out, &name, inner)?;
                continue;
            }
            toml::Value::Boolean(b) => Literal::Bool(*b),
            toml::Value::Integer(i) => Literal::Int(Int::from(*i)),
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
        if let Err(source) = wasmtime_global_abi::check_name(name.as_bytes()) {
            return Err(FileError::Name { name, source });
        }
        if out.insert(name.clone(), literal).is_some() {
            return Err(FileError::Duplicate { name });
        }
    }
    Ok(())
}

/// The most bytes a globals file may hold, unless [`FileOptions::max_size`] says otherwise:
/// 1 MiB, some thousands of times what a file of a few hundred globals takes, and a bound on
/// what one version can make the host read and hold.
pub const MAX_SIZE: u64 = 1 << 20;

/// How long a version that would delete a name, or does not parse, must stay the same before it
/// is applied or refused, unless [`FileOptions::settle`] says otherwise: see the
/// [module](self) docs. 50 ms: a write in place (truncate, then write) takes microseconds to a
/// few milliseconds; a version that sets names is never delayed.
pub const SETTLE: Duration = Duration::from_millis(50);

/// The most reads a version that keeps changing waits [`SETTLE`] for, before it is applied or
/// refused as it stands (a later event reads it again).
const SETTLE_ROUNDS: u32 = 20;

/// How the file is opened: see [What is read](self#what-is-read). The default follows links
/// and caps the file at [`MAX_SIZE`].
///
/// ```
/// use wasmtime_global_sources::file::FileOptions;
///
/// // For a file in a directory a guest or another tenant can write.
/// let options = FileOptions::new().follow_links(false).max_size(64 * 1024);
/// assert!(!options.follows_links());
/// assert_eq!(options.max(), 64 * 1024);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileOptions {
    follow_links: bool,
    max_size: u64,
    settle: Duration,
}

impl Default for FileOptions {
    fn default() -> FileOptions {
        FileOptions {
            follow_links: true,
            max_size: MAX_SIZE,
            settle: SETTLE,
        }
    }
}

impl FileOptions {
    /// The default options: links followed, [`MAX_SIZE`].
    #[must_use]
    pub fn new() -> FileOptions {
        FileOptions::default()
    }

    /// Whether symbolic links are followed (the default). Off, the file's directory is opened
    /// once at start and the file is opened in it with `O_NOFOLLOW`: a link renamed over the
    /// file is refused with [`FileError::Link`], and one renamed over a directory of the path
    /// is never taken.
    #[must_use]
    pub fn follow_links(mut self, follow: bool) -> FileOptions {
        self.follow_links = follow;
        self
    }

    /// The most bytes the file may hold; a larger one is refused with [`FileError::TooLarge`].
    #[must_use]
    pub fn max_size(mut self, bytes: u64) -> FileOptions {
        self.max_size = bytes;
        self
    }

    /// How long a version that would delete a name, or does not parse, must stay the same
    /// before it is applied or refused ([`SETTLE`] by default; see the [module](self) docs).
    /// `Duration::ZERO` applies every version as soon as it is read.
    #[must_use]
    pub fn settle(mut self, period: Duration) -> FileOptions {
        self.settle = period;
        self
    }

    /// How long a version that would delete a name must stay the same before it is applied.
    #[must_use]
    pub fn settle_period(&self) -> Duration {
        self.settle
    }

    /// Whether symbolic links are followed.
    #[must_use]
    pub fn follows_links(&self) -> bool {
        self.follow_links
    }

    /// The most bytes the file may hold.
    #[must_use]
    pub fn max(&self) -> u64 {
        self.max_size
    }
}

/// Loads `path` into `globals` once, as one batch; returns the number of names it holds. The
/// same as [`load_with`] and the default [`FileOptions`].
///
/// # Errors
///
/// A [`FileError`]; then nothing is applied.
pub fn load(path: impl AsRef<Path>, globals: &Globals) -> Result<usize, FileError> {
    load_with(path, globals, FileOptions::default())
}

/// Loads `path` into `globals` once, as one batch, opened as `options` say; returns the number
/// of names it holds.
///
/// # Errors
///
/// A [`FileError`]; then nothing is applied.
pub fn load_with(
    path: impl AsRef<Path>,
    globals: &Globals,
    options: FileOptions,
) -> Result<usize, FileError> {
    let mut applied = Applied::new();
    let bytes = Source::new(path.as_ref(), options)?.read()?;
    apply_version(globals, &mut applied, &bytes)?;
    Ok(applied.len())
}

/// The file, and how it is read.
#[derive(Debug)]
struct Source {
    path: PathBuf,
    options: FileOptions,
    /// With links not followed: the file's directory, opened at start, and the file's name in
    /// it. Holding the directory rather than its path is what keeps a link renamed over one of
    /// the path's directories from being taken.
    #[cfg(unix)]
    dir: Option<(std::os::fd::OwnedFd, std::ffi::OsString)>,
}

impl Source {
    fn new(path: &Path, options: FileOptions) -> Result<Source, FileError> {
        let read_error = |source| FileError::Read {
            path: path.to_owned(),
            source,
        };
        #[cfg(unix)]
        let dir = if options.follow_links {
            None
        } else {
            use rustix::fs::{Mode, OFlags};
            let name = path.file_name().ok_or_else(|| {
                read_error(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "the path does not end in a file name",
                ))
            })?;
            let parent = match path.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir,
                _ => Path::new("."),
            };
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
            let fd =
                rustix::fs::open(parent, flags, Mode::empty()).map_err(|e| read_error(e.into()))?;
            Some((fd, name.to_owned()))
        };
        Ok(Source {
            path: path.to_owned(),
            options,
            #[cfg(unix)]
            dir,
        })
    }

    fn read_error(&self, source: std::io::Error) -> FileError {
        FileError::Read {
            path: self.path.clone(),
            source,
        }
    }

    fn too_large(&self) -> FileError {
        FileError::TooLarge {
            path: self.path.clone(),
            max: self.options.max_size,
        }
    }

    /// The file's bytes, if it is a regular file within the cap.
    #[cfg(unix)]
    fn read(&self) -> Result<Vec<u8>, FileError> {
        use rustix::fs::{AtFlags, FileType, Mode, OFlags};
        use std::os::fd::AsFd;
        let (dir, name, follow) = match &self.dir {
            Some((dir, name)) => (dir.as_fd(), Path::new(name), false),
            None => (rustix::fs::CWD, self.path.as_path(), true),
        };
        let kind = |mode| match FileType::from_raw_mode(mode) {
            FileType::RegularFile => Ok(()),
            FileType::Symlink => Err(FileError::Link {
                path: self.path.clone(),
            }),
            other => Err(FileError::NotRegular {
                path: self.path.clone(),
                kind: match other {
                    FileType::Directory => "a directory",
                    FileType::Fifo => "a FIFO",
                    FileType::CharacterDevice => "a character device",
                    FileType::BlockDevice => "a block device",
                    FileType::Socket => "a socket",
                    _ => "an unknown kind of file",
                },
            }),
        };
        // Look before opening: opening a device can do something of its own (a tape rewinds,
        // a watchdog starts).
        let at = if follow {
            AtFlags::empty()
        } else {
            AtFlags::SYMLINK_NOFOLLOW
        };
        let stat = rustix::fs::statat(dir, name, at).map_err(|e| self.read_error(e.into()))?;
        kind(stat.st_mode)?;
        // Non-blocking: what was a regular file a moment ago may be a FIFO now, whose open
        // would wait for a writer. NOCTTY: nor may a terminal become ours.
        let mut flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY;
        if !follow {
            flags |= OFlags::NOFOLLOW;
        }
        let fd = rustix::fs::openat(dir, name, flags, Mode::empty()).map_err(|e| {
            // A link put in the file's place since the look above (`O_NOFOLLOW` refuses it
            // with ELOOP; FreeBSD says EMLINK).
            if !follow && (e == rustix::io::Errno::LOOP || e == rustix::io::Errno::MLINK) {
                FileError::Link {
                    path: self.path.clone(),
                }
            } else {
                self.read_error(e.into())
            }
        })?;
        // What was opened is what counts.
        let stat = rustix::fs::fstat(&fd).map_err(|e| self.read_error(e.into()))?;
        kind(stat.st_mode)?;
        let size = u64::try_from(stat.st_size).unwrap_or(0);
        self.read_capped(std::fs::File::from(fd), size)
    }

    /// The file's bytes, if it is a regular file within the cap. Without `openat` and
    /// `O_NOFOLLOW`, a link is looked for before the file is opened, not after.
    #[cfg(not(unix))]
    fn read(&self) -> Result<Vec<u8>, FileError> {
        let kind = |file_type: std::fs::FileType| {
            if file_type.is_file() {
                Ok(())
            } else if file_type.is_symlink() {
                Err(FileError::Link {
                    path: self.path.clone(),
                })
            } else {
                Err(FileError::NotRegular {
                    path: self.path.clone(),
                    kind: if file_type.is_dir() {
                        "a directory"
                    } else {
                        "an unknown kind of file"
                    },
                })
            }
        };
        let looked = if self.options.follow_links {
            std::fs::metadata(&self.path)
        } else {
            std::fs::symlink_metadata(&self.path)
        };
        kind(looked.map_err(|e| self.read_error(e))?.file_type())?;
        let file = std::fs::File::open(&self.path).map_err(|e| self.read_error(e))?;
        let metadata = file.metadata().map_err(|e| self.read_error(e))?;
        kind(metadata.file_type())?;
        self.read_capped(file, metadata.len())
    }

    /// Reads `file`, whose size was `size`, if it holds at most the cap.
    fn read_capped(&self, file: std::fs::File, size: u64) -> Result<Vec<u8>, FileError> {
        let max = self.options.max_size;
        if size > max {
            return Err(self.too_large());
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        // One byte more than the cap tells a file that grew past it from one that did not.
        file.take(max.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| self.read_error(e))?;
        if bytes.len() as u64 > max {
            return Err(self.too_large());
        }
        Ok(bytes)
    }
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
    let version = parse_version(text)?;
    let mut wanted = BTreeMap::new();
    for (name, literal) in version.values {
        // The file's own type first; else the type the name has in the registry now.
        let value = match version.types.get(&name) {
            Some(&ty) => literal.typed(ty),
            None => apply::resolve(globals, &name, literal),
        };
        let value = value.map_err(|source| FileError::Type {
            name: name.clone(),
            source,
        })?;
        wanted.insert(name, value);
    }
    let changes = apply::diff(applied, &wanted);
    apply::commit(globals, applied, &changes)?;
    Ok(changes.len())
}

/// Whether `bytes` may be a file caught half-way through a write in place: they do not parse,
/// or they would delete a name of `applied`.
fn doubtful(applied: &Applied, bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return true;
    };
    match parse(text) {
        Ok(names) => applied.keys().any(|name| !names.contains_key(name)),
        Err(_) => true,
    }
}

/// What a [`WatchedFile`] has done, for health checks.
#[derive(Clone, Debug)]
pub struct FileStatus {
    /// Versions of the file applied, the first load included (a version with no change counts).
    pub versions: u64,
    /// Versions refused: not read, not parsed, or not of the names' types.
    pub failures: u64,
    /// Times the file was read: at start, at each event in its directory except reads, and again
    /// while a version settles ([`SETTLE`]).
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
    /// The watch on the directory above the file's, which re-arms `_watcher` when the file's
    /// directory is replaced (links followed only).
    _above: Option<notify::RecommendedWatcher>,
    /// The watch on the file's directory.
    _watcher: Arc<Mutex<notify::RecommendedWatcher>>,
}

#[derive(Debug)]
struct Shared {
    source: Source,
    globals: Globals,
    /// Held while a version is read and applied, so that one is applied at a time.
    state: Mutex<Reading>,
    status: Watched<FileStatus>,
}

/// The version of the file last read, and what of it is applied.
#[derive(Debug)]
struct Reading {
    applied: Applied,
    /// The bytes of the newest version read, applied or refused.
    last_bytes: Option<Vec<u8>>,
}

impl WatchedFile {
    /// Loads `path` into `globals` as one batch and watches it from now on. The same as
    /// [`start_with`](WatchedFile::start_with) and the default [`FileOptions`]: links are
    /// followed.
    ///
    /// # Errors
    ///
    /// The [`FileError`] of the first load, or [`FileError::Watch`] if the file's directory
    /// cannot be watched; then nothing is applied and nothing watched.
    pub fn start(path: impl AsRef<Path>, globals: &Globals) -> Result<WatchedFile, FileError> {
        WatchedFile::start_with(path, globals, FileOptions::default())
    }

    /// Loads `path` into `globals` as one batch and watches it from now on, opened as `options`
    /// say at every read.
    ///
    /// ```
    /// use wasmtime_global::{Globals, Literal, Value};
    /// use wasmtime_global_sources::file::{FileError, FileOptions, WatchedFile};
    ///
    /// let dir = std::env::temp_dir().join(format!("wg-start-with-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("globals.toml");
    /// std::fs::write(&path, "MAX_ITEMS = 100\n")?;
    /// let globals = Globals::new();
    /// let options = FileOptions::new().follow_links(false);
    /// let file = WatchedFile::start_with(&path, &globals, options)?;
    /// assert_eq!(globals.current("MAX_ITEMS"), Some(Value::Literal(Literal::Int(100.into()))));
    ///
    /// // A link put in the file's place is refused; the last good values stay.
    /// std::fs::remove_file(&path)?;
    /// std::os::unix::fs::symlink("/etc/passwd", &path)?;
    /// assert!(matches!(file.reload().unwrap_err().as_ref(), FileError::Link { .. }));
    /// assert_eq!(globals.current("MAX_ITEMS"), Some(Value::Literal(Literal::Int(100.into()))));
    /// # drop(file);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The [`FileError`] of the first load, or [`FileError::Watch`] if the file's directory
    /// cannot be watched; then nothing is applied and nothing watched.
    pub fn start_with(
        path: impl AsRef<Path>,
        globals: &Globals,
        options: FileOptions,
    ) -> Result<WatchedFile, FileError> {
        let path = path.as_ref();
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        let shared = Arc::new(Shared::new(Source::new(path, options)?, globals));
        // Watch first, then load: a change made meanwhile is seen by one or the other.
        let watcher = Arc::new(Mutex::new(watch_dir(&dir, &shared)?));
        // With links not followed the watch stays on the directory opened at start, as the
        // reads do; followed, the directory at the path is watched, whatever it is now.
        let above = if options.follow_links {
            watch_above(&dir, &shared, &watcher)?
        } else {
            None
        };
        shared.load()?;
        Ok(WatchedFile {
            shared,
            _above: above,
            _watcher: watcher,
        })
    }

    /// The file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.shared.source.path
    }

    /// What the watch has done so far.
    #[must_use]
    pub fn status(&self) -> FileStatus {
        self.shared.status.get()
    }

    /// The names the file sets whose values its registry's guests do not read, because the
    /// value is none of the type they declared the name with (`TIMEOUT = 30` for a `DURATION`,
    /// which needs a unit): set before they declared it, the value stays, and they read their
    /// default. Looked up in the registry now; the registry also logs a warning when a guest
    /// declares such a name.
    #[must_use]
    pub fn withheld(&self) -> Vec<String> {
        apply::withheld(&self.shared.globals, &self.shared.state.lock().applied)
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

/// Watches `dir`, the file's directory: every event there but a read reloads the file.
fn watch_dir(dir: &Path, shared: &Arc<Shared>) -> Result<notify::RecommendedWatcher, FileError> {
    let weak = Arc::downgrade(shared);
    let watch_error = |source| FileError::Watch {
        path: dir.to_owned(),
        source,
    };
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
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
                    path: shared.source.path.clone(),
                    source,
                };
                shared.refused(error);
            }
        }
    })
    .map_err(watch_error)?;
    watcher
        .watch(dir, RecursiveMode::NonRecursive)
        // A directory that is not there: say that the file cannot be read.
        .map_err(|e| shared.source.read().err().unwrap_or_else(|| watch_error(e)))?;
    Ok(watcher)
}

/// Watches the directory above `dir` (the file's) for `dir` being replaced: renamed away and
/// made again, or a link switched to another directory, as deploy tools do. A watch follows the
/// directory it was armed on, not the path, and went deaf there (issue 22). At each event about
/// `dir`'s name the watch on `dir` is armed again, on what the path names now, and the file
/// read; while the path names no directory, the status says so. A directory further up replaced
/// is not seen.
fn watch_above(
    dir: &Path,
    shared: &Arc<Shared>,
    watcher: &Arc<Mutex<notify::RecommendedWatcher>>,
) -> Result<Option<notify::RecommendedWatcher>, FileError> {
    let (Some(above), Some(name)) = (dir.parent(), dir.file_name()) else {
        return Ok(None);
    };
    let above = if above.as_os_str().is_empty() {
        Path::new(".")
    } else {
        above
    };
    let (weak, below) = (Arc::downgrade(shared), Arc::downgrade(watcher));
    let (dir, name) = (dir.to_owned(), name.to_owned());
    let watch_error = |source| FileError::Watch {
        path: above.to_owned(),
        source,
    };
    // Its own watcher, so its own thread: arming the other watcher from that one's event thread
    // would wait for itself.
    let mut watch = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // An error of this watch loses nothing the file's own watch reports.
        let Ok(event) = event else { return };
        if !event.paths.iter().any(|p| p.file_name() == Some(&*name)) {
            return;
        }
        if let (Some(shared), Some(watcher)) = (weak.upgrade(), below.upgrade()) {
            shared.rearm(&mut watcher.lock(), &dir);
        }
    })
    .map_err(watch_error)?;
    watch
        .watch(above, RecursiveMode::NonRecursive)
        .map_err(watch_error)?;
    Ok(Some(watch))
}

impl Shared {
    /// The state of a watch of `source` into `globals`, before the first load (its read counted).
    fn new(source: Source, globals: &Globals) -> Shared {
        Shared {
            source,
            globals: globals.clone(),
            state: Mutex::new(Reading {
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
        }
    }

    /// Reads and applies the file at start: its errors are start's.
    fn load(&self) -> Result<(), FileError> {
        let mut state = self.state.lock();
        let bytes = self.source.read()?;
        apply_version(&self.globals, &mut state.applied, &bytes)?;
        state.last_bytes = Some(bytes);
        self.applied(&state, 0);
        Ok(())
    }

    /// Arms `watcher` on `dir` again, on whatever the path names now, and reads the file.
    fn rearm(&self, watcher: &mut notify::RecommendedWatcher, dir: &Path) {
        // Gone already if the directory was; the path may name another one now.
        drop(watcher.unwatch(dir));
        match watcher.watch(dir, RecursiveMode::NonRecursive) {
            Ok(()) => drop(self.reload()),
            Err(source) => {
                // Whatever is read next is new: it ends this error.
                self.state.lock().last_bytes = None;
                self.refused(FileError::Watch {
                    path: dir.to_owned(),
                    source,
                });
            }
        }
    }

    fn reload(&self) -> Result<bool, Arc<FileError>> {
        let mut state = self.state.lock();
        self.status.update(|s| s.reads += 1);
        let bytes = match self.source.read() {
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
        let bytes = if doubtful(&state.applied, &bytes) {
            // Under the lock, so that no newer version is applied meanwhile and then replaced
            // by this older read.
            match self.settled(bytes) {
                Ok(bytes) => bytes,
                Err(error) => {
                    state.last_bytes = None;
                    return Err(self.refused(error));
                }
            }
        } else {
            bytes
        };
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

    /// `bytes`, once two reads of the file a settle period apart agree (or after
    /// [`SETTLE_ROUNDS`] reads, the last).
    fn settled(&self, mut bytes: Vec<u8>) -> Result<Vec<u8>, FileError> {
        let period = self.source.options.settle;
        if period.is_zero() {
            return Ok(bytes);
        }
        for _ in 0..SETTLE_ROUNDS {
            std::thread::sleep(period);
            self.status.update(|s| s.reads += 1);
            let again = self.source.read()?;
            if again == bytes {
                break;
            }
            bytes = again;
        }
        Ok(bytes)
    }

    fn applied(&self, state: &Reading, changes: usize) {
        let names = state.applied.len();
        // The event before the status, which wakes waiters: one that saw the status can count
        // on the event (the tracing test once read the events in between).
        tracing::info!(
            target: "wasmtime_global_sources::file",
            path = %self.source.path.display(),
            names,
            changes,
            "applied a version of the globals file"
        );
        self.status.update(|s| {
            s.versions += 1;
            s.names = names;
            s.last_error = None;
        });
    }

    fn refused(&self, error: FileError) -> Arc<FileError> {
        let error = Arc::new(error);
        tracing::warn!(
            target: "wasmtime_global_sources::file",
            path = %self.source.path.display(),
            error = %error,
            "kept the last good globals: a new version of the file was refused"
        );
        self.status.update(|s| {
            s.failures += 1;
            s.last_error = Some(Arc::clone(&error));
        });
        error
    }
}
