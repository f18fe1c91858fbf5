//! [`Globals::define`] and [`Globals::undefine`]: a name's type, and optionally its default,
//! fixed by the embedder before guests declare it.

use super::*;

impl Globals {
    /// Fixes `name`'s type, and optionally the default every guest reads while no value is set,
    /// so that no guest can declare it with another type first (a guest that does gets
    /// `TYPE_MISMATCH`, recorded in its store's [`refusals`](crate::GlobalsCtx::refusals)),
    /// and typed sets of another type are refused. Call it before guests run. Defining a name
    /// again replaces its definition; [`undefine`](Globals::undefine) removes it. `del` of a
    /// defined name brings back the defined default, not each guest's own.
    ///
    /// ```
    /// use wasmtime_global::{Globals, Value, ValueType};
    ///
    /// let globals = Globals::new();
    /// globals.define("MAX_ITEMS", ValueType::U64, Some(Value::U64(100)))?;
    /// assert!(globals.set_f64("MAX_ITEMS", 1.5).is_err());
    /// globals.set_u64("MAX_ITEMS", 250)?;
    /// # Ok::<(), wasmtime_global::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`]; [`Error::TypeMismatch`] if `default` is typed and of another type,
    /// or if live instances declared `name`, or a typed value set for it is, of another type.
    pub fn define(&self, name: &str, ty: ValueType, default: Option<Value>) -> Result<()> {
        checked(name)?;
        let mismatch = |declared: ValueType, given: ValueType| Error::TypeMismatch {
            name: name.to_owned(),
            declared,
            given,
        };
        if let Some(given) = default.and_then(Value::ty)
            && given != ty
        {
            return Err(mismatch(ty, given));
        }
        let mut state = self.write();
        if let Some(entry) = state.entries.get(name)
            && let Some(other) = entry
                .declared
                .ty()
                .or(entry.value.and_then(Value::ty))
                .filter(|&t| t != ty)
        {
            return Err(mismatch(other, ty));
        }
        if let Some(bound) = state.entries.get(name).and_then(|e| e.bound)
            && bound != ty
        {
            return Err(mismatch(bound, ty));
        }
        if let Some(Value::Literal(literal)) = state.entries.get(name).and_then(|e| e.value)
            && let Err(source) = literal.typed(ty)
        {
            return Err(Error::NotOfType {
                name: name.to_owned(),
                source,
            });
        }
        // Not checked against the registries below: the definition binds them, and a child
        // whose guests declared the name otherwise keeps its value (Entry::accepts).
        let below = lock_below(&state);
        let key = state.key(name);
        self.redefine(
            state,
            below,
            &key,
            Some(Box::new(Definition { ty, default })),
        );
        Ok(())
    }

    /// Removes `name`'s definition ([`Globals::define`]); returns it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`].
    pub fn undefine(&self, name: &str) -> Result<Option<Definition>> {
        checked(name)?;
        let state = self.write();
        let Some(entry) = state.entries.get(name) else {
            return Ok(None);
        };
        let (key, old) = (Arc::clone(&entry.key), entry.defined.as_deref().copied());
        let below = lock_below(&state);
        self.redefine(state, below, &key, None);
        Ok(old)
    }

    /// Whether a definition here or in a registry above fixes `name`'s type.
    pub(crate) fn bound(&self, name: &str) -> bool {
        self.read()
            .entries
            .get(name)
            .is_some_and(|e| e.binding().is_some())
    }

    /// `name`'s definition ([`Globals::define`]), if it has one.
    #[must_use]
    pub fn definition(&self, name: &str) -> Option<Definition> {
        self.read()
            .entries
            .get(name)
            .and_then(|e| e.defined.as_deref().copied())
    }

    /// Gives `key`'s entry the definition `defined`; if what guests read changes, writes it as a
    /// set would, here and in the registries `below`.
    fn redefine(
        &self,
        mut state: RwLockWriteGuard<'_, Locked>,
        mut below: Vec<Node>,
        key: &Arc<str>,
        defined: Option<Box<Definition>>,
    ) {
        let Some(entry) = state.entries.get_mut(key) else {
            return;
        };
        Tally::add(&self.inner.tally.sets, 1);
        let before = entry.current();
        entry.defined = defined;
        // Before the locks go: what a module's instances learned here or below no longer holds.
        self.inner.definitions.fetch_add(1, Ordering::Release);
        for node in &below {
            node.globals
                .inner
                .definitions
                .fetch_add(1, Ordering::Release);
        }
        let changed = !same(before, entry.current()) && entry.declared.any();
        let writes = if changed {
            state.bump(key);
            state.shared_writes(std::slice::from_ref(key))
        } else {
            state.collect(key);
            SharedWrites::Grouped(Vec::new())
        };
        let below_writes = propagate(&state, &mut below, &[key]).writes;
        self.publish(&state);
        RwLockWriteGuard::unlock_fair(state);
        for node in below {
            ArcRwLockWriteGuard::unlock_fair(node.state);
        }
        writes.apply();
        below_writes.iter().for_each(SharedWrites::apply);
    }
}
