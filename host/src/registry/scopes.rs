//! Scopes: a registry's children, what they inherit from the registries above them, and how a
//! change propagates down.

use super::*;

impl Globals {
    /// A registry that overlays this one: its guests read a name's value set in the child, else
    /// this registry's (its value, its own parent's, or its defined default), else their own
    /// default. A change here reaches the child's guests unless the child sets the name itself;
    /// `del` in the child falls back to this registry's value. A batch here is one batch in every
    /// child. Fleet-wide values in a parent, a tenant's own in a child:
    ///
    /// ```
    /// use wasmtime_global::{Globals, Value};
    ///
    /// let fleet = Globals::new();
    /// fleet.set_u64("MAX_ITEMS", 100)?;
    /// let tenant = fleet.child();
    /// assert_eq!(tenant.current("MAX_ITEMS"), Some(Value::U64(100)));
    /// tenant.set_u64("MAX_ITEMS", 5)?; // the tenant's own value wins
    /// fleet.set_u64("MAX_ITEMS", 200)?;
    /// assert_eq!(tenant.current("MAX_ITEMS"), Some(Value::U64(5)));
    /// tenant.del("MAX_ITEMS")?; // back to the fleet's, not the guests' default
    /// assert_eq!(tenant.current("MAX_ITEMS"), Some(Value::U64(200)));
    /// # Ok::<(), wasmtime_global::Error>(())
    /// ```
    ///
    /// A typed set or definition here is checked against every child's declarations of the name
    /// too (whether or not the child sets it), so no child's guest reads a value of another
    /// type. A change locks the registry and every child below it, parents first, and costs
    /// about what a set costs in each child, so a set in a parent of a thousand children holds
    /// its lock a thousand sets long (`cargo bench -p wasmtime-global --bench fanout`).
    #[must_use]
    pub fn child(&self) -> Globals {
        let mut inner = Inner::default();
        inner.parent = Some(self.clone());
        let child = Globals {
            inner: Arc::new(inner),
        };
        let mut state = self.write();
        {
            let mut below = child.write();
            for (name, entry) in state.entries.iter() {
                let (value, bound) = (entry.passed_down(), entry.binding());
                if value.is_some() || bound.is_some() {
                    let key = below.key(name);
                    if let Some(entry) = below.entries.get_mut(&key) {
                        entry.inherited = value;
                        entry.bound = bound;
                    }
                }
            }
        }
        // Forget dropped children once they are as many as the live ones were: O(1) a child.
        if state.children.len() >= 2 * state.children_swept.max(16) {
            state.children_looked_at += state.children.len() as u64;
            state.children.retain(|c| c.strong_count() > 0);
            state.children_swept = state.children.len();
        }
        state.children.push(Arc::downgrade(&child.inner));
        child
    }

    /// The registry this one overlays, if it was made by [`Globals::child`].
    #[must_use]
    pub fn parent(&self) -> Option<&Globals> {
        self.inner.parent.as_ref()
    }

    /// The live registries made from this one with [`Globals::child`], in the order they were
    /// made (a child dropped by all its holders is not listed). A fleet walks its tenants this
    /// way; [`Globals::snapshot_with_children`] takes all their snapshots at once.
    #[must_use]
    pub fn children(&self) -> Vec<Globals> {
        self.read()
            .children
            .iter()
            .filter_map(Weak::upgrade)
            .map(|inner| Globals { inner })
            .collect()
    }
}

/// What a registry's guests read of a name, as a registry below it inherits it.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Above {
    pub(super) value: Option<Value>,
    /// The type a definition in it, or above it, binds.
    pub(super) bound: Option<ValueType>,
}

impl Above {
    pub(super) fn of(state: &Locked, name: &str) -> Above {
        state
            .entries
            .get(name)
            .map_or_else(Above::default, |e| Above {
                value: e.passed_down(),
                bound: e.binding(),
            })
    }
}

/// What [`Locked::inherit`] did.
#[derive(Debug, Default)]
pub(super) struct Inherited {
    /// The name's key, if its guests read something else now.
    pub(super) changed: Option<Arc<str>>,
    /// The parent's value, if its guests cannot read it.
    pub(super) withheld: Option<Withheld>,
}

/// A parent's value a registry's guests do not read, and the type they declared.
#[derive(Debug)]
pub(super) struct Withheld {
    pub(super) value: Value,
    pub(super) declared: Option<ValueType>,
}

/// A registry below the one changing ([`Globals::child`]), locked for the change.
pub(super) struct Node {
    /// The index of its parent in the list; `None`: the registry changing.
    pub(super) parent: Option<usize>,
    pub(super) globals: Globals,
    pub(super) state: ArcRwLockWriteGuard<RawRwLock, Locked>,
}

/// Locks every live registry below the one whose state is `root`, parents before children:
/// the order every change takes them in, so that two changes never wait for each other.
pub(super) fn lock_below(root: &Locked) -> Vec<Node> {
    let mut nodes: Vec<Node> = Vec::new();
    let mut children: Vec<(Option<usize>, Arc<Inner>)> = root
        .children
        .iter()
        .filter_map(Weak::upgrade)
        .map(|inner| (None, inner))
        .collect();
    while !children.is_empty() {
        for (parent, inner) in std::mem::take(&mut children) {
            let state = inner.state.write_arc();
            let index = nodes.len();
            children.extend(
                state
                    .children
                    .iter()
                    .filter_map(Weak::upgrade)
                    .map(|inner| (Some(index), inner)),
            );
            nodes.push(Node {
                parent,
                globals: Globals { inner },
                state,
            });
        }
    }
    nodes
}

/// Gives every registry of `nodes` what its parent's guests now read for `names`; returns the
/// writes into shared tables each calls for.
pub(super) fn propagate(root: &Locked, nodes: &mut [Node], names: &[&str]) -> Propagated {
    let mut writes = Vec::with_capacity(nodes.len());
    let mut changed_below = 0;
    for i in 0..nodes.len() {
        let (above, rest) = nodes.split_at_mut(i);
        let node = &mut rest[0];
        let parent: &Locked = match node.parent {
            None => root,
            Some(p) => &above[p].state,
        };
        let mut changed = Vec::new();
        for name in names {
            let inherited = node.state.inherit(name, Above::of(parent, name));
            changed.extend(inherited.changed);
            if let Some(Withheld { value, declared }) = inherited.withheld {
                Tally::add(&node.globals.inner.tally.withheld, 1);
                tracing::warn!(
                    target: "wasmtime_global::set",
                    name,
                    value = ?value,
                    declared = ?declared,
                    "a parent registry's value is not applied here: this registry's guests \
                     declared the name with another type"
                );
            }
        }
        changed_below += changed.len();
        writes.push(node.state.shared_writes(&changed));
        node.globals.publish(&node.state);
    }
    Propagated {
        writes,
        changed_below,
    }
}

/// What a change did in the registries below the one changing.
#[derive(Default)]
pub(super) struct Propagated {
    /// The writes into shared tables each registry below calls for.
    pub(super) writes: Vec<SharedWrites>,
    /// Names whose value changed for guests that declared them, all registries below together
    /// (a name changed in two children counts twice).
    pub(super) changed_below: usize,
}

/// Counts a declaration of `name` as `ty` by the store of `names`, unless the name is known with
/// another type; returns the name's key.
pub(super) fn declare_name_in(
    state: &mut Locked,
    name: &str,
    ty: ValueType,
    names: &mut StoreNames,
) -> core::result::Result<Arc<str>, ValueType> {
    if let Some(entry) = state.entries.get(name) {
        entry.count_declaration(ty)?;
        entry.join(names);
        return Ok(Arc::clone(&entry.key));
    }
    let key: Arc<str> = Arc::from(name);
    let entry = Entry::new(&key);
    entry.declared.add(ty, None)?;
    entry.join(names);
    state.entries.insert(Arc::clone(&key), entry);
    Ok(key)
}
