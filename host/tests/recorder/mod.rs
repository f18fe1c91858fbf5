//! A `tracing` subscriber that records every event, for the tests of the host's events.

#![allow(dead_code)] // each test binary uses a part

use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// One event: target, level, and its fields as text.
pub type Seen = (String, Level, Vec<(String, String)>);

#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<Seen>>>);

impl Recorder {
    /// Forgets the events recorded so far.
    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
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
        self.0
            .lock()
            .unwrap()
            .push((meta.target().to_owned(), *meta.level(), fields.0));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// The events of `recorder` whose target starts with `wasmtime_global`: (target, level,
/// message, the named fields' values).
pub fn events(recorder: &Recorder, fields: &[&str]) -> Vec<(String, Level, String, Vec<String>)> {
    let field = |seen: &Seen, name: &str| {
        seen.2
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    recorder
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|seen| seen.0.starts_with("wasmtime_global"))
        .map(|seen| {
            let values = fields.iter().map(|f| field(seen, f)).collect();
            (seen.0.clone(), seen.1, field(seen, "message"), values)
        })
        .collect()
}
