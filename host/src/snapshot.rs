//! What an operator sees of a registry: [`Globals::snapshot`](crate::Globals::snapshot).

use crate::{Definition, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use wasmtime_global_abi::ValueType;

/// A registry at one moment: every name it knows, and what has happened to it so far. Made by
/// [`Globals::snapshot`](crate::Globals::snapshot) under the registry's read lock, so the names
/// agree with one another (the counters are read after, and may be a little ahead).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Snapshot {
    /// Every name that has a value, a definition, or a live declaration, sorted by name.
    pub names: Vec<NameState>,
    /// Counters since the registry was made.
    pub counters: Counters,
    /// The snapshots of its live child registries, in the order they were made: filled by
    /// [`Globals::snapshot_with_children`](crate::Globals::snapshot_with_children), empty in a
    /// plain [`Globals::snapshot`](crate::Globals::snapshot).
    pub children: Vec<Snapshot>,
}

/// One name of a [`Snapshot`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct NameState {
    /// The name.
    pub name: String,
    /// What its guests read now, if the embedder decided it: the value set here, else the parent
    /// registry's, else the defined default. `None`: each guest reads its own default.
    pub value: Option<Value>,
    /// The value set in this registry, if any ([`Globals::get`](crate::Globals::get)).
    pub set: Option<Value>,
    /// A value that this registry's guests do not read because of its type: a value written
    /// as text ([`Value::Literal`]) that is none of the name's type (`30` for a `DURATION`),
    /// set here or in the parent, or the parent registry's typed value when they declared the
    /// name with another type before the parent set it
    /// ([`Globals::child`](crate::Globals::child)). They read what they would read without it.
    pub withheld: Option<Value>,
    /// The type and default the embedder fixed, if any.
    pub definition: Option<Definition>,
    /// The type its live declarations have, if it has any.
    pub declared_type: Option<ValueType>,
    /// Live declarations (slots), in every store of this registry.
    pub declarations: u64,
    /// The stores that hold at least one of them.
    pub stores: u64,
}

/// What a registry's stores and embedder have done, since the registry was made. A store's
/// declarations are added when each of its guests' `declare` calls returns, in one add for the
/// call, so that the count costs a declaration no shared write; everything else as it happens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counters {
    /// Changes applied: each `set`, `del`, definition or committed batch (of any size) that was
    /// not refused.
    pub sets: u64,
    /// Syncs that found changes to write.
    pub syncs: u64,
    /// Declarations accepted, counted when the guest's `declare` call returns.
    pub declarations: u64,
    /// Declarations refused with `TYPE_MISMATCH`.
    pub refusals: u64,
    /// Guests trapped by a declaration: a malformed table, or a store limit.
    pub traps: u64,
    /// Values not applied here because of their type: a parent registry's value of another type
    /// than this registry's guests declared, or a value written as text that is none of the
    /// name's type (see [`NameState::withheld`]).
    pub withheld: u64,
}

/// The registry's [`Counters`], as atomics: each is added to by one `fetch_add`, never under a
/// lock.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) sets: AtomicU64,
    pub(crate) syncs: AtomicU64,
    pub(crate) declarations: AtomicU64,
    pub(crate) refusals: AtomicU64,
    pub(crate) traps: AtomicU64,
    pub(crate) withheld: AtomicU64,
}

impl Tally {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        if n > 0 {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }

    pub(crate) fn read(&self) -> Counters {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Counters {
            sets: get(&self.sets),
            syncs: get(&self.syncs),
            declarations: get(&self.declarations),
            refusals: get(&self.refusals),
            traps: get(&self.traps),
            withheld: get(&self.withheld),
        }
    }
}
