//! [`Globals`]: the one registry an embedder shares across every store and thread.

use crate::{Error, Result, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use wasmtime_global_abi::{ValueType, check_name};

/// The registry of values the host sets: wazero-global's `New()`.
///
/// Cheap to clone (an [`Arc`]), `Send + Sync`: call [`set`](Globals::set) and
/// [`del`](Globals::del) from any thread. A change reaches an instance whose memory is not shared
/// the next time its store is [synced](crate::sync).
///
/// # Types
///
/// A name's type is fixed by the first instance that declares it, for as long as any instance
/// that declared it is alive. The typed setters ([`set_bool`](Globals::set_bool) and so on) refuse a
/// value of another type with [`Error::TypeMismatch`]; [`set`](Globals::set) writes untyped bits, as
/// wazero-global's `Set` does, and is accepted for any type.
///
/// # Examples
///
/// ```
/// use wasmtime_global::{Globals, Value};
///
/// let globals = Globals::new();
/// globals.set("MAX_CONNECTIONS", 512)?;
/// globals.set_bool("FEATURE_X", true)?;
/// assert_eq!(globals.get("FEATURE_X"), Some(Value::Bool(true)));
/// assert_eq!(globals.del("FEATURE_X")?, Some(Value::Bool(true)));
/// assert_eq!(globals.get("FEATURE_X"), None);
/// # Ok::<(), wasmtime_global::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Globals {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Mirror of `State::version`, stored after every change, so a sync with nothing to do costs
    /// one atomic load and takes no lock.
    version: AtomicU64,
    state: RwLock<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Incremented by every change.
    version: u64,
    entries: HashMap<Arc<str>, Entry>,
    /// For every name whose last change is still of interest, the version of that change. One
    /// row per name, so a sync reads only the names changed since it last ran.
    changes: BTreeMap<u64, Arc<str>>,
}

#[derive(Debug, Default)]
struct Entry {
    value: Option<Value>,
    declared: Option<Declared>,
    changed_at: Option<u64>,
}

#[derive(Clone, Copy, Debug)]
struct Declared {
    ty: ValueType,
    /// Live declarations of the name, across every store.
    slots: u64,
}

impl State {
    /// Records a change of `key` as the newest version.
    fn bump(&mut self, key: &Arc<str>) {
        self.version += 1;
        let version = self.version;
        if let Some(entry) = self.entries.get_mut(key) {
            if let Some(old) = entry.changed_at.replace(version) {
                self.changes.remove(&old);
            }
            self.changes.insert(version, Arc::clone(key));
        }
    }

    /// Forgets `name` if nothing is set for it and nobody declares it.
    fn collect(&mut self, name: &str) {
        if let Some(entry) = self.entries.get(name)
            && entry.value.is_none()
            && entry.declared.is_none()
        {
            if let Some(at) = entry.changed_at {
                self.changes.remove(&at);
            }
            self.entries.remove(name);
        }
    }

    fn key(&mut self, name: &str) -> Arc<str> {
        match self.entries.get_key_value(name) {
            Some((key, _)) => Arc::clone(key),
            None => {
                let key: Arc<str> = Arc::from(name);
                self.entries.insert(Arc::clone(&key), Entry::default());
                key
            }
        }
    }
}

fn checked(name: &str) -> Result<&str> {
    check_name(name.as_bytes()).map_err(|source| Error::invalid_name(name.as_bytes(), source))?;
    Ok(name)
}

impl Globals {
    /// An empty registry.
    #[must_use]
    pub fn new() -> Globals {
        Globals::default()
    }

    /// Sets `name` to untyped `bits`, written as-is into every slot that declares `name`,
    /// whatever its type (wazero-global's `Set`). For a `BOOL` slot, `0` is false and anything
    /// else true; for `F64`, `bits` is the bit pattern; for `DURATION`, nanoseconds.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`] if `name` breaks the naming rules.
    pub fn set(&self, name: &str, bits: u64) -> Result<()> {
        self.set_value(name, Value::Bits(bits))
    }

    /// Sets a `BOOL` global.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`]; [`Error::TypeMismatch`] if `name` is declared with another type.
    pub fn set_bool(&self, name: &str, value: bool) -> Result<()> {
        self.set_value(name, Value::Bool(value))
    }

    /// Sets a `U64` global.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`]; [`Error::TypeMismatch`] if `name` is declared with another type.
    pub fn set_u64(&self, name: &str, value: u64) -> Result<()> {
        self.set_value(name, Value::U64(value))
    }

    /// Sets an `I64` global.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`]; [`Error::TypeMismatch`] if `name` is declared with another type.
    pub fn set_i64(&self, name: &str, value: i64) -> Result<()> {
        self.set_value(name, Value::I64(value))
    }

    /// Sets an `F64` global; the bit pattern is kept exactly.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`]; [`Error::TypeMismatch`] if `name` is declared with another type.
    pub fn set_f64(&self, name: &str, value: f64) -> Result<()> {
        self.set_value(name, Value::F64(value))
    }

    /// Sets a `DURATION` global.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`]; [`Error::DurationOutOfRange`] past `i64::MAX` nanoseconds;
    /// [`Error::TypeMismatch`] if `name` is declared with another type.
    pub fn set_duration(&self, name: &str, value: std::time::Duration) -> Result<()> {
        self.set_value(name, Value::duration(value)?)
    }

    /// Sets `name` to `value`. Setting the value it already has changes nothing.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`]; [`Error::TypeMismatch`] if `value` is typed and `name` is declared
    /// with another type.
    pub fn set_value(&self, name: &str, value: Value) -> Result<()> {
        let name = checked(name)?;
        let mut state = self.write();
        if let Some(entry) = state.entries.get(name) {
            if let (Some(declared), Some(given)) = (entry.declared, value.ty())
                && declared.ty != given
            {
                return Err(Error::TypeMismatch {
                    name: name.to_owned(),
                    declared: declared.ty,
                    given,
                });
            }
            if entry.value.is_some_and(|old| old.same(value)) {
                return Ok(());
            }
        }
        let key = state.key(name);
        if let Some(entry) = state.entries.get_mut(&key) {
            entry.value = Some(value);
        }
        state.bump(&key);
        self.publish(&state);
        Ok(())
    }

    /// Removes the value set for `name`, so every instance reads its own default again
    /// (wazero-global's `Del`). Returns the value that was set, if any.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`] if `name` breaks the naming rules.
    pub fn del(&self, name: &str) -> Result<Option<Value>> {
        let name = checked(name)?;
        let mut state = self.write();
        let Some((key, entry)) = state.entries.get_key_value(name) else {
            return Ok(None);
        };
        let (key, declared) = (Arc::clone(key), entry.declared.is_some());
        let old = state.entries.get_mut(name).and_then(|e| e.value.take());
        if old.is_some() {
            if declared {
                state.bump(&key);
                self.publish(&state);
            } else {
                state.collect(name);
            }
        }
        Ok(old)
    }

    /// The value set for `name`, if any (not the guests' defaults, which differ per guest).
    #[must_use]
    pub fn get(&self, name: &str) -> Option<Value> {
        self.read().entries.get(name).and_then(|e| e.value)
    }

    /// Every name with a value set, sorted by name.
    #[must_use]
    pub fn list(&self) -> Vec<(String, Value)> {
        let state = self.read();
        let mut all: Vec<_> = state
            .entries
            .iter()
            .filter_map(|(name, e)| Some((name.to_string(), e.value?)))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// The type live instances declared `name` with, if any instance declared it.
    #[must_use]
    pub fn declared_type(&self, name: &str) -> Option<ValueType> {
        self.read()
            .entries
            .get(name)
            .and_then(|e| e.declared.map(|d| d.ty))
    }

    /// Number of names the registry holds: set, declared, or both. Falls back as `del` and
    /// dropped stores release names.
    #[must_use]
    pub fn len(&self) -> usize {
        self.read().entries.len()
    }

    /// Whether the registry holds no name.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of changes so far: it grows by one with every `set` or `del` that changes
    /// something.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.inner.version.load(Ordering::Acquire)
    }

    /// Records a declaration of `name` as `ty`; returns the registry's key for the name and the
    /// value set, or the type the name is already declared with.
    pub(crate) fn declare(
        &self,
        name: &str,
        ty: ValueType,
    ) -> core::result::Result<(Arc<str>, Option<Value>), ValueType> {
        let mut state = self.write();
        if let Some(entry) = state.entries.get(name) {
            let typed = entry.value.and_then(Value::ty);
            let declared = entry.declared.map(|d| d.ty);
            if let Some(other) = declared.or(typed).filter(|&t| t != ty) {
                return Err(other);
            }
        }
        let key = state.key(name);
        let entry = state.entries.entry(Arc::clone(&key)).or_default();
        let declared = entry.declared.get_or_insert(Declared { ty, slots: 0 });
        declared.slots += 1;
        Ok((key, entry.value))
    }

    /// Releases one declaration of each name in `names`.
    pub(crate) fn undeclare<'a>(&self, names: impl IntoIterator<Item = &'a str>) {
        let mut state = self.write();
        for name in names {
            let Some(entry) = state.entries.get_mut(name) else {
                continue;
            };
            if let Some(declared) = &mut entry.declared {
                declared.slots -= 1;
                if declared.slots == 0 {
                    entry.declared = None;
                }
            }
            state.collect(name);
        }
    }

    /// Calls `f` with every name changed after version `since` and its value now; returns the
    /// version `f` saw everything up to.
    pub(crate) fn changes_since(&self, since: u64, mut f: impl FnMut(&str, Option<Value>)) -> u64 {
        let state = self.read();
        for (_, name) in state.changes.range(since + 1..) {
            f(name, state.entries.get(name).and_then(|e| e.value));
        }
        state.version
    }

    fn publish(&self, state: &State) {
        self.inner.version.store(state.version, Ordering::Release);
    }

    // No code panics while holding the lock, so a poisoned lock still holds consistent state.
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
