//! A mirror of an etcd v3 key prefix in a registry (feature `etcd`).
//!
//! Every key under the prefix is a global: its name is the key without the prefix, its value the
//! value text of [the value spec](crate::spec) (`true`, `100`, `0.25`, `1m30s`).
//! [`EtcdMirror::start`] lists the prefix, applies it as one batch, then watches the prefix from
//! the list's revision + 1 and applies **every etcd revision as one batch**: the keys of one
//! transaction reach guests together, never half of them (`Globals::batch`). Events are grouped by
//! their `mod_revision`, not by watch response, since one response may carry many revisions.
//!
//! Failures it survives, each tested against a real etcd:
//! - **A lost connection** (etcd killed and restarted, the connection cut): it reconnects, with a
//!   backoff from 50 ms to 1 s (each wait jittered to between half and all of it), and watches
//!   again from the last applied revision + 1, which delivers every write made meanwhile, each
//!   once.
//! - **A silent network**: it asks etcd for a progress report every `keepalive` interval (and
//!   HTTP/2 pings at the same interval); with no answer within the timeout it drops the connection
//!   and reconnects.
//! - **A compacted revision**: when etcd has compacted the revision it would resume from, it lists
//!   the prefix again and applies the difference as one batch (keys that vanished are deleted).
//! - **etcd restored from an older snapshot, or rebuilt**: on each reconnection it first asks
//!   the server for its revision and cluster id; a revision lower than the mirror's, or another
//!   cluster, makes it list the prefix again (a `tracing` warning says so). A restored etcd
//!   whose revision has already passed the mirror's again before the mirror reconnects, in the
//!   same cluster, is not told apart.
//! - **A large catch-up**: responses up to `max_message_bytes` (64 MiB by default; the client's own
//!   default of 4 MiB fails on every retry once exceeded).
//!
//! A key whose value does not parse, or is not of the type its name has, is left out of its
//! batch: its last good value stays in force (or none), it is listed in
//! [`EtcdStatus::invalid`] until a good value or a delete replaces it (the key and the reason
//! cut to 255 bytes), and a `tracing` warning names it. The other keys of its revision are applied: etcd has committed the revision, and
//! holding back every later change until someone mends one key would be worse.
//!
//! A key of a name of no type yet is set as written
//! ([`Value::Literal`](wasmtime_global::Value::Literal)) and takes the type the name gets later,
//! so `1` is 1.0 to an `F64` guest whichever came first; one that is none of that type (`30`
//! for a `DURATION`) is withheld, and the guests read their default: [`EtcdMirror::withheld`]
//! names it (`spec/VALUES.md` §3).
//!
//! The mirror owns the names under its prefix: set them in etcd, not in the registry.

use crate::Literal;
use crate::apply::{self, Applied, Change};
use crate::status::Watched;
use etcd_client::{
    Client, ConnectOptions, EventType, GetOptions, KvClient, WatchOptions, WatchStream,
};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use wasmtime_global::Globals;

/// Where and how to mirror: endpoints, prefix, and the timings of failure detection.
#[derive(Clone, Debug)]
pub struct EtcdConfig {
    /// etcd endpoints, such as `http://127.0.0.1:2379`.
    pub endpoints: Vec<String>,
    /// The key prefix mirrored; a key's name is the rest of the key.
    pub prefix: String,
    /// How often the connection is checked (HTTP/2 ping and a watch progress request).
    pub keepalive_interval: Duration,
    /// How long an answer may take before the connection counts as lost.
    pub keepalive_timeout: Duration,
    /// The largest gRPC message accepted: one watch response or list.
    pub max_message_bytes: usize,
}

impl EtcdConfig {
    /// A mirror of `prefix` on `endpoints`, with keepalive every second and a 1 s timeout (a
    /// silent network is noticed within about 2 s), and messages of up to 64 MiB.
    pub fn new(
        endpoints: impl IntoIterator<Item = impl Into<String>>,
        prefix: impl Into<String>,
    ) -> EtcdConfig {
        EtcdConfig {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            prefix: prefix.into(),
            keepalive_interval: Duration::from_secs(1),
            keepalive_timeout: Duration::from_secs(1),
            max_message_bytes: 64 << 20,
        }
    }
}

/// The state of the mirror's connection to etcd.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Connection {
    /// Connecting, or listing the prefix.
    Connecting,
    /// Watching: changes arrive as they are made.
    Watching,
    /// Lost; it will try again.
    Disconnected {
        /// Why.
        error: String,
    },
}

/// What an [`EtcdMirror`] has done, for health checks.
#[derive(Clone, Debug)]
pub struct EtcdStatus {
    /// The connection now.
    pub connection: Connection,
    /// The registry holds etcd's prefix as of this revision (0 before the first list): the
    /// revision of the last list, or of the last change under the prefix applied since.
    pub revision: i64,
    /// Revisions applied from the watch, each as one batch.
    pub batches: u64,
    /// Lists of the whole prefix applied: the first, and one after each compaction.
    pub lists: u64,
    /// Connections lost.
    pub disconnects: u64,
    /// Names the mirror has set now.
    pub names: usize,
    /// Keys whose value was refused, with why; each keeps its last good value. Each key and
    /// reason is cut to its first 255 bytes (and `…`); shared, so that a status is cheap to
    /// read however many keys are refused.
    pub invalid: Arc<BTreeMap<String, String>>,
}

/// A running mirror: see the [module](self) docs. Dropping it stops the mirror; the values it
/// set stay.
#[derive(Debug)]
pub struct EtcdMirror {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    globals: Globals,
    status: Watched<EtcdStatus>,
    /// The names the mirror has set, and their values: written by the mirror's task, read by
    /// [`EtcdMirror::withheld`].
    applied: Mutex<Applied>,
}

impl EtcdMirror {
    /// Starts mirroring `config.prefix` into `globals`: on the current tokio runtime if there is
    /// one, else on a thread of its own with its own runtime. It connects in the background;
    /// [`wait_for`](EtcdMirror::wait_for) a revision to know the first list is applied.
    ///
    /// # Errors
    ///
    /// If the runtime of its own cannot be built.
    pub fn start(config: EtcdConfig, globals: &Globals) -> std::io::Result<EtcdMirror> {
        let shared = Arc::new(Shared {
            globals: globals.clone(),
            status: Watched::new(EtcdStatus {
                connection: Connection::Connecting,
                revision: 0,
                batches: 0,
                lists: 0,
                disconnects: 0,
                names: 0,
                invalid: Arc::default(),
            }),
            applied: Mutex::new(Applied::new()),
        });
        let (stop, stopped) = watch::channel(false);
        let task = run(config, Arc::clone(&shared), stopped);
        let thread = match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(task);
                None
            }
            Err(_) => {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                Some(
                    std::thread::Builder::new()
                        .name("etcd-mirror".into())
                        .spawn(move || runtime.block_on(task))?,
                )
            }
        };
        Ok(EtcdMirror {
            shared,
            stop,
            thread,
        })
    }

    /// What the mirror has done so far.
    #[must_use]
    pub fn status(&self) -> EtcdStatus {
        self.shared.status.get()
    }

    /// The names the mirror sets whose values its registry's guests do not read, because the
    /// value is none of the type they declared the name with (`30` for a `DURATION`, which
    /// needs a unit): set before they declared it, the value stays, and they read their default.
    /// Looked up in the registry now; the registry also logs a warning when a guest declares
    /// such a name.
    #[must_use]
    pub fn withheld(&self) -> Vec<String> {
        apply::withheld(&self.shared.globals, &self.shared.applied.lock())
    }

    /// Waits until `done` holds for the status, or `timeout` passes; returns the last status
    /// seen and whether `done` held. It blocks the thread: in async code, call it from
    /// `spawn_blocking`.
    pub fn wait_for(
        &self,
        timeout: Duration,
        done: impl FnMut(&EtcdStatus) -> bool,
    ) -> (EtcdStatus, bool) {
        self.shared.status.wait_for(timeout, done)
    }
}

impl Drop for EtcdMirror {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Shared {
    fn update(&self, f: impl FnOnce(&mut EtcdStatus)) {
        self.status.update(f);
    }
}

/// Why a session with etcd ended.
#[derive(Debug, thiserror::Error)]
enum Lost {
    #[error("{0}")]
    Etcd(#[from] etcd_client::Error),
    #[error("no answer within {0:?}")]
    Silent(Duration),
    #[error("the watch stream ended")]
    Ended,
    #[error("revision {0} is compacted: listing again")]
    Compacted(i64),
    #[error("the watch was cancelled: {0}")]
    Cancelled(String),
}

/// Connects, lists and watches until stopped, reconnecting after every loss.
async fn run(config: EtcdConfig, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut mirror = Mirror {
        config,
        shared,
        revision: 0,
        list: true,
        cluster: None,
        invalid: Arc::default(),
    };
    let mut backoff = Duration::from_millis(50);
    loop {
        let mut watching = false;
        let lost = tokio::select! {
            lost = mirror.session(&mut watching) => lost,
            _ = stop.changed() => return,
        };
        tracing::warn!(
            target: "wasmtime_global_sources::etcd",
            prefix = %mirror.config.prefix,
            revision = mirror.revision,
            error = %lost,
            "etcd connection lost; reconnecting"
        );
        mirror.shared.update(|s| {
            s.connection = Connection::Disconnected {
                error: lost.to_string(),
            };
            s.disconnects += 1;
        });
        if watching {
            backoff = Duration::from_millis(50);
        }
        if !matches!(lost, Lost::Compacted(_)) {
            tokio::select! {
                () = tokio::time::sleep(jittered(backoff)) => {}
                _ = stop.changed() => return,
            }
            backoff = (backoff * 2).min(Duration::from_secs(1));
        }
    }
}

/// Half to all of `backoff`, at random: a fleet that lost etcd together does not come back in
/// one burst.
fn jittered(backoff: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    // A new `RandomState` is seeded at random: enough for spreading retries.
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    backoff / 2 + backoff.mul_f64((random >> 11) as f64 / (1u64 << 53) as f64 / 2.0)
}

/// `request`'s answer, or [`Lost::Silent`] if none comes within `deadline`.
async fn within<T>(
    deadline: Duration,
    request: impl std::future::Future<Output = Result<T, etcd_client::Error>>,
) -> Result<T, Lost> {
    let answer = tokio::time::timeout(deadline, request)
        .await
        .map_err(|_| Lost::Silent(deadline))?;
    Ok(answer?)
}

struct Mirror {
    config: EtcdConfig,
    shared: Arc<Shared>,
    /// The registry holds the prefix as of this revision.
    revision: i64,
    /// Whether the next session lists the prefix before it watches.
    list: bool,
    /// The cluster the last list came from.
    cluster: Option<u64>,
    invalid: Arc<BTreeMap<String, String>>,
}

impl Mirror {
    async fn session(&mut self, watching: &mut bool) -> Lost {
        match self.try_session(watching).await {
            Ok(never) => match never {},
            Err(lost) => lost,
        }
    }

    async fn try_session(&mut self, watching: &mut bool) -> Result<std::convert::Infallible, Lost> {
        let config = self.config.clone();
        let client = self.connect().await?;
        let deadline = (config.keepalive_interval + config.keepalive_timeout) * 4;
        let mut kv = client
            .kv_client()
            .max_decoding_message_size(config.max_message_bytes);
        if !self.list {
            self.check_server(&mut kv, deadline).await?;
        }
        if self.list {
            self.list_prefix(&mut kv, deadline).await?;
        }
        let mut watch_client = client
            .watch_client()
            .max_decoding_message_size(config.max_message_bytes);
        let options = WatchOptions::new()
            .with_prefix()
            .with_start_revision(self.revision + 1);
        let mut stream = within(
            deadline,
            watch_client.watch(config.prefix.as_str(), Some(options)),
        )
        .await?;
        *watching = true;
        self.shared.update(|s| s.connection = Connection::Watching);
        self.follow(&mut stream).await
    }

    /// Connects to the endpoints, with the config's keepalive and a connect timeout.
    async fn connect(&self) -> Result<Client, Lost> {
        let (interval, timeout) = (
            self.config.keepalive_interval,
            self.config.keepalive_timeout,
        );
        self.shared
            .update(|s| s.connection = Connection::Connecting);
        let options = ConnectOptions::new()
            .with_keep_alive(interval, timeout)
            .with_keep_alive_while_idle(true)
            .with_connect_timeout(interval + timeout);
        Ok(Client::connect(&self.config.endpoints, Some(options)).await?)
    }

    /// Sets `list` if the server's revision went back or its cluster changed.
    async fn check_server(&mut self, kv: &mut KvClient, deadline: Duration) -> Result<(), Lost> {
        // Where the server is before the watch resumes: an etcd restored from an older
        // snapshot, or another cluster at the endpoints, has a lower revision or another
        // cluster id, and a watch from the mirror's revision would miss every write there
        // (issue 22). The prefix's count only: no values.
        let probe = within(
            deadline,
            kv.get(
                self.config.prefix.as_str(),
                Some(GetOptions::new().with_prefix().with_count_only()),
            ),
        )
        .await?;
        if let Some(header) = probe.header()
            && (header.revision() < self.revision
                || self.cluster.is_some_and(|c| c != header.cluster_id()))
        {
            tracing::warn!(
                target: "wasmtime_global_sources::etcd",
                prefix = %self.config.prefix,
                mirrored = self.revision,
                server = header.revision(),
                "etcd's revision went back, or its cluster changed (restored from a \
                 snapshot, or rebuilt): listing the prefix again"
            );
            self.list = true;
        }
        Ok(())
    }

    /// Lists the whole prefix and applies it as one batch, noting the cluster it came from.
    async fn list_prefix(&mut self, kv: &mut KvClient, deadline: Duration) -> Result<(), Lost> {
        let listed = within(
            deadline,
            kv.get(
                self.config.prefix.as_str(),
                Some(GetOptions::new().with_prefix()),
            ),
        )
        .await?;
        let revision = listed.header().map_or(0, |h| h.revision());
        self.cluster = listed.header().map(|h| h.cluster_id());
        self.apply_list(listed.kvs(), revision);
        self.list = false;
        Ok(())
    }

    /// Applies the watch's events, checking the connection with progress reports, until lost.
    async fn follow(&mut self, stream: &mut WatchStream) -> Result<std::convert::Infallible, Lost> {
        let timeout = self.config.keepalive_timeout;
        let mut ticks = tokio::time::interval(self.config.keepalive_interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut asked: Option<Instant> = None;
        loop {
            tokio::select! {
                message = stream.message() => {
                    let response = message?.ok_or(Lost::Ended)?;
                    asked = None;
                    if response.canceled() {
                        if response.compact_revision() > 0 {
                            self.list = true;
                            return Err(Lost::Compacted(self.revision + 1));
                        }
                        return Err(Lost::Cancelled(response.cancel_reason().to_owned()));
                    }
                    // A progress report only shows the connection is alive. etcd 3.4 may send
                    // one with a revision whose events a catching-up watch has not sent yet, so
                    // it never moves `revision`: resuming from there would lose those events.
                    self.apply_events(response.events());
                }
                _ = ticks.tick() => {
                    match asked {
                        Some(at) if at.elapsed() > timeout => return Err(Lost::Silent(timeout)),
                        Some(_) => {}
                        None => {
                            stream.request_progress().await?;
                            asked = Some(Instant::now());
                        }
                    }
                }
            }
        }
    }

    /// Applies a list of the whole prefix at `revision` as one batch: the difference from what
    /// the mirror applied before.
    fn apply_list(&mut self, kvs: &[etcd_client::KeyValue], revision: i64) {
        let globals = self.shared.globals.clone();
        let mut wanted = BTreeMap::new();
        let mut invalid = Vec::new();
        for kv in kvs {
            match self.parse(kv.key(), Some(kv.value())) {
                Ok((name, Some(value))) => {
                    wanted.insert(name, value);
                }
                Ok((_, None)) => {}
                Err((key, error)) => {
                    // Its last good value stays.
                    if let Some(old) = self.shared.applied.lock().get(&key) {
                        wanted.insert(key.clone(), *old);
                    }
                    invalid.push((key, error));
                }
            }
        }
        let changes = apply::diff(&self.shared.applied.lock(), &wanted);
        Arc::make_mut(&mut self.invalid).clear();
        for (key, error) in invalid {
            self.refuse(key, error, revision);
        }
        self.commit(globals, changes, revision, |s| s.lists += 1);
    }

    /// Applies a watch response's events, one batch per revision.
    fn apply_events(&mut self, events: &[etcd_client::Event]) {
        let mut start = 0;
        while start < events.len() {
            let revision = |e: &etcd_client::Event| e.kv().map_or(0, |kv| kv.mod_revision());
            let at = revision(&events[start]);
            let end = events[start..]
                .iter()
                .position(|e| revision(e) != at)
                .map_or(events.len(), |n| start + n);
            let mut changes: Vec<Change> = Vec::new();
            for event in &events[start..end] {
                let Some(kv) = event.kv() else { continue };
                let value = match event.event_type() {
                    EventType::Put => Some(kv.value()),
                    EventType::Delete => None,
                };
                match self.parse(kv.key(), value) {
                    Ok((name, value)) => {
                        self.forget(&name);
                        changes.push((name, value));
                    }
                    // A refused key deleted: nothing of it is left to refuse.
                    Err((key, _)) if value.is_none() => self.forget(&key),
                    Err((key, error)) => self.refuse(key, error, at),
                }
            }
            self.commit(self.shared.globals.clone(), changes, at, |s| s.batches += 1);
            start = end;
        }
    }

    /// Lists `key` as refused, and says why.
    fn refuse(&mut self, key: String, error: String, revision: i64) {
        tracing::warn!(
            target: "wasmtime_global_sources::etcd",
            key = %key, revision, error = %error,
            "refused an etcd key's value; its last good value stays"
        );
        Arc::make_mut(&mut self.invalid).insert(key, error);
    }

    /// Takes `key` off the refused list, if it is there (without copying the list if not).
    fn forget(&mut self, key: &str) {
        if self.invalid.contains_key(key) {
            Arc::make_mut(&mut self.invalid).remove(key);
        }
    }

    /// The name and value of a key, or the key (lossy) and why it is refused.
    fn parse(
        &self,
        key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<(String, Option<wasmtime_global::Value>), (String, String)> {
        // What is kept of a refused key or value is an excerpt: a key or a value of a megabyte
        // was kept whole in the status, and cloned with it (issue 22).
        let lossy = || crate::excerpt(&[&String::from_utf8_lossy(key)]);
        let cut = |e: &dyn std::fmt::Display| crate::excerpt(&[&e.to_string()]);
        let name = key
            .strip_prefix(self.config.prefix.as_bytes())
            .ok_or_else(|| (lossy(), "not under the prefix".to_owned()))?;
        wasmtime_global_abi::check_name(name)
            .map_err(|e| (lossy(), cut(&format_args!("not a global name: {e}"))))?;
        let name = String::from_utf8_lossy(name).into_owned();
        let Some(value) = value else {
            return Ok((name, None));
        };
        let text = std::str::from_utf8(value)
            .map_err(|e| (name.clone(), cut(&format_args!("not UTF-8: {e}"))))?;
        let literal = Literal::parse(text).map_err(|e| (name.clone(), cut(&e)))?;
        let value = apply::resolve(&self.shared.globals, &name, literal)
            .map_err(|e| (name.clone(), cut(&e)))?;
        Ok((name, Some(value)))
    }

    /// Commits `changes` as one batch at `revision`. A name the registry refuses (a guest
    /// declared it with another type since it was resolved) is left out and listed as invalid.
    fn commit(
        &mut self,
        globals: Globals,
        mut changes: Vec<Change>,
        revision: i64,
        count: impl FnOnce(&mut EtcdStatus),
    ) {
        loop {
            let committed = apply::commit(&globals, &mut self.shared.applied.lock(), &changes);
            match committed {
                Ok(()) => break,
                Err(
                    wasmtime_global::Error::TypeMismatch { name, .. }
                    | wasmtime_global::Error::NotOfType { name, .. },
                ) if changes.iter().any(|(n, _)| *n == name) => {
                    let error = format!("not of the type guests declared {name:?} with");
                    changes.retain(|(n, _)| *n != name);
                    self.refuse(name, error, revision);
                }
                Err(error) => {
                    // Names are checked and values typed before: nothing else is expected.
                    tracing::error!(
                        target: "wasmtime_global_sources::etcd",
                        revision, error = %error, "the registry refused a revision"
                    );
                    break;
                }
            }
        }
        self.revision = revision;
        let (names, invalid) = (self.shared.applied.lock().len(), self.invalid.clone());
        // Info, as the file source says each version: an operator sees what reached the guests.
        tracing::info!(
            target: "wasmtime_global_sources::etcd",
            prefix = %self.config.prefix, revision, changes = changes.len(),
            "applied an etcd revision"
        );
        self.shared.update(|s| {
            s.revision = revision;
            s.names = names;
            s.invalid = invalid;
            count(s);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jittered_wait_is_half_to_all_of_the_backoff_and_varies() {
        let backoff = Duration::from_millis(800);
        let waits: std::collections::BTreeSet<Duration> =
            (0..1000).map(|_| jittered(backoff)).collect();
        assert!(waits.iter().all(|w| (backoff / 2..=backoff).contains(w)));
        assert!(waits.len() > 900, "{} distinct waits of 1000", waits.len());
    }
}
