//! Turning what a source wants into one batch of changes to a registry.

use crate::{Literal, TypeError, known_type};
use std::collections::BTreeMap;
use wasmtime_global::{Globals, Value};

/// The names a source has set in a registry, and the value of each.
pub(crate) type Applied = BTreeMap<String, Value>;

/// One change a source makes: a value to set, or `None` to delete the name.
pub(crate) type Change = (String, Option<Value>);

/// Resolves `literal` for `name` against the type the name has in `globals` now.
pub(crate) fn resolve(globals: &Globals, name: &str, literal: Literal) -> Result<Value, TypeError> {
    literal.value(known_type(globals, name))
}

/// The changes that take `applied` to `wanted`: a set for every name new or with another value,
/// a delete for every name gone. Values compare by type and bits.
pub(crate) fn diff(applied: &Applied, wanted: &BTreeMap<String, Value>) -> Vec<Change> {
    let mut changes: Vec<Change> = applied
        .keys()
        .filter(|name| !wanted.contains_key(*name))
        .map(|name| (name.clone(), None))
        .collect();
    changes.extend(
        wanted
            .iter()
            .filter(|(name, value)| applied.get(*name).is_none_or(|old| !old.same(**value)))
            .map(|(name, value)| (name.clone(), Some(*value))),
    );
    changes
}

/// Applies `changes` to `globals` as one batch and records them in `applied`.
pub(crate) fn commit(
    globals: &Globals,
    applied: &mut Applied,
    changes: &[Change],
) -> Result<(), wasmtime_global::Error> {
    if changes.is_empty() {
        return Ok(());
    }
    let mut batch = globals.batch();
    for (name, value) in changes {
        match value {
            Some(value) => batch.set_value(name, *value),
            None => batch.del(name),
        };
    }
    batch.commit()?;
    for (name, value) in changes {
        match value {
            Some(value) => applied.insert(name.clone(), *value),
            None => applied.remove(name),
        };
    }
    Ok(())
}

/// The names of `applied` whose value the guests of `globals` do not read, because it is none of
/// the type they declared the name with ([`Globals::withheld`]), in order.
pub(crate) fn withheld(globals: &Globals, applied: &Applied) -> Vec<String> {
    applied
        .iter()
        .filter(|(name, value)| globals.withheld(name).is_some_and(|w| w.same(**value)))
        .map(|(name, _)| name.clone())
        .collect()
}
