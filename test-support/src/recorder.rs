//! A `tracing` subscriber that records every event, for the tests of the host's and the
//! sources' events.

use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// One event as recorded.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The event's target (its module path, unless it named one).
    pub target: String,
    /// Its level.
    pub level: Level,
    /// Its fields, the message among them, as text, in the order the event gave them.
    pub fields: Vec<(String, String)>,
}

impl Seen {
    /// The field `name` as text; empty if the event has none.
    pub fn field(&self, name: &str) -> String {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

/// Records every event; install it with `tracing::subscriber::with_default` (one thread) or
/// `set_global_default` (events from other threads; one test in its own binary).
#[derive(Clone, Debug, Default)]
pub struct Recorder(Arc<Mutex<Vec<Seen>>>);

impl Recorder {
    /// Forgets the events recorded so far.
    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }

    /// The events recorded so far whose target starts with `prefix`.
    pub fn seen(&self, prefix: &str) -> Vec<Seen> {
        let seen = self.0.lock().unwrap();
        seen.iter()
            .filter(|s| s.target.starts_with(prefix))
            .cloned()
            .collect()
    }
}

/// The events of `recorder` whose target starts with `wasmtime_global`: (target, level,
/// message, the named fields' values).
pub fn events(recorder: &Recorder, fields: &[&str]) -> Vec<(String, Level, String, Vec<String>)> {
    recorder
        .seen("wasmtime_global")
        .into_iter()
        .map(|seen| {
            let values = fields.iter().map(|f| seen.field(f)).collect();
            (
                seen.target.clone(),
                seen.level,
                seen.field("message"),
                values,
            )
        })
        .collect()
}

struct Fields(Vec<(String, String)>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(Vec::new());
        event.record(&mut fields);
        let meta = event.metadata();
        self.0.lock().unwrap().push(Seen {
            target: meta.target().to_owned(),
            level: *meta.level(),
            fields: fields.0,
        });
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}
