//! What a store keeps of the globals its components declared through the project's WIT
//! interface ([`crate::component`]): handles, cached reads, change counts.

use super::*;

/// A global a component declared ([`crate::component`]): the registry's key for its name, its
/// type and its default's bits.
#[derive(Debug)]
#[cfg_attr(not(feature = "component"), allow(dead_code))]
pub(crate) struct ComponentGlobal {
    pub(crate) name: Arc<str>,
    pub(crate) ty: ValueType,
    pub(crate) default: u64,
    /// What it is charged against [`Limits::host_bytes`].
    pub(super) charged: u64,
    /// The bits it read last, as of the registry's version `read_at` and its count of
    /// definition changes `read_defs` (`u64::MAX`: never read): a read while both are still
    /// those takes them again without looking the name up.
    pub(super) read_bits: u64,
    pub(super) read_at: u64,
    pub(super) read_defs: u64,
    /// The looks that found the name changed since the one before ([`crate::component`]'s
    /// `changes`), and the version of the change the last look found.
    pub(super) changes: u64,
    pub(super) seen_change: u64,
}

/// Why a component's declaration was refused.
#[derive(Debug)]
#[cfg_attr(not(feature = "component"), allow(dead_code))]
pub(crate) enum ComponentRefusal {
    /// The name breaks the naming rules.
    InvalidName,
    /// The name is fixed to this other type.
    TypeMismatch(ValueType),
    /// A limit of the store: the error says which.
    Limit(Error),
}

impl GlobalsCtx {
    /// Declares `name` as `ty` with the default `default` for a component (its bits); returns
    /// the rep of its handle. The steps of a slot's declaration ([`GlobalsCtx::declare`]) but
    /// the table and the write: the name's rules, the store's limits and charge
    /// ([`admit_component`]), the registry's step, the store's record; a refused type is undone
    /// by the same [`undo`](GlobalsCtx::undo).
    ///
    /// [`admit_component`]: GlobalsCtx::admit_component
    #[cfg_attr(not(feature = "component"), allow(dead_code))]
    pub(crate) fn declare_component(
        &mut self,
        name: &str,
        ty: ValueType,
        default: u64,
    ) -> core::result::Result<u32, ComponentRefusal> {
        if abi::check_name(name.as_bytes()).is_err() {
            return Err(ComponentRefusal::InvalidName);
        }
        let charged = self
            .admit_component(name)
            .map_err(ComponentRefusal::Limit)?;
        let declared = match self.globals.declare_name(name, ty, &mut self.names) {
            Ok(declared) => declared,
            Err(fixed) => {
                // Not a store refusal (`refusals`, `explain`): the component gets it as a typed
                // error, and its code decides. The registry counts it.
                self.undo(charged, None);
                Tally::add(&self.globals.tally().refusals, 1);
                return Err(ComponentRefusal::TypeMismatch(fixed));
            }
        };
        let global = ComponentGlobal {
            name: declared.key,
            ty,
            default,
            charged,
            read_bits: default,
            read_at: u64::MAX,
            read_defs: u64::MAX,
            changes: 0,
            seen_change: declared.current.changed_at,
        };
        Ok(self.record_component(global))
    }

    /// Checks that one more component global stays within the limits, and charges it, as
    /// [`admit`](GlobalsCtx::admit) does a slot; returns the bytes charged.
    fn admit_component(&mut self, name: &str) -> Result<u64> {
        let reps_left = u32::MAX - self.components_base;
        if self.declared >= self.limits.declarations
            || self.components_declared >= self.limits.declarations
            || self.components.len() >= reps_left as usize
        {
            return Err(self.over(Limit::Declarations));
        }
        let charged = DECLARATION_BYTES + name.len() as u64;
        self.charge(charged)?;
        Ok(charged)
    }

    /// Counts `global`, a new declaration, and gives it a handle; returns the handle's rep.
    fn record_component(&mut self, global: ComponentGlobal) -> u32 {
        self.components_declared += 1;
        self.count_new(1, false);
        self.count_declarations();
        let index = match self.components_free.pop() {
            Some(i) => {
                self.components[i as usize] = Some(global);
                i
            }
            None => {
                self.components.push(Some(global));
                // Fewer than `reps_left` entries (`admit_component`): it fits, and so does the
                // rep.
                (self.components.len() - 1) as u32
            }
        };
        self.components_base + index
    }

    /// The index in `components` of the handle of rep `rep`, if it is one of this ctx's since
    /// its last reset.
    #[cfg_attr(not(feature = "component"), allow(dead_code))]
    pub(super) fn component_index(&self, rep: u32) -> Option<usize> {
        Some(rep.checked_sub(self.components_base)? as usize)
    }

    /// The component global of the handle of rep `rep`, if it lives.
    #[cfg_attr(not(feature = "component"), allow(dead_code))]
    pub(crate) fn component(&self, rep: u32) -> Option<&ComponentGlobal> {
        self.components.get(self.component_index(rep)?)?.as_ref()
    }

    /// How many component globals live.
    #[cfg_attr(not(feature = "component"), allow(dead_code))]
    pub(crate) fn component_count(&self) -> usize {
        self.components.len() - self.components_free.len()
    }

    /// What the component global of the handle of rep `rep` reads now, if it lives. The registry's name
    /// is looked up only when its version moved since this global's last read: a change
    /// publishes its version once it is complete, so a read that finds the version unmoved may
    /// give the bits of that version.
    #[cfg_attr(not(feature = "component"), allow(dead_code))]
    pub(crate) fn component_bits(&mut self, rep: u32) -> Option<u64> {
        Some(self.look(rep)?.read_bits)
    }

    /// How many looks at the component global of the handle of rep `rep` (reads, and this)
    /// found its name changed since the look before: what a core module's slot's `changes`
    /// counts, the syncs that wrote it.
    #[cfg_attr(not(feature = "component"), allow(dead_code))]
    pub(crate) fn component_changes(&mut self, rep: u32) -> Option<u64> {
        Some(self.look(rep)?.changes)
    }

    /// The component global of the handle of rep `rep`, its read brought up to date.
    #[cfg_attr(not(feature = "component"), allow(dead_code))]
    pub(super) fn look(&mut self, rep: u32) -> Option<&ComponentGlobal> {
        // Definitions first: a definition read after the version cannot be older than it.
        let defs = self.globals.definitions();
        let now = self.globals.version();
        let index = self.component_index(rep)?;
        let global = self.components.get_mut(index)?.as_mut()?;
        if global.read_at != now || global.read_defs != defs {
            let current = self.globals.current_at(&global.name);
            global.read_bits = current.bits(global.default);
            global.read_at = current.version;
            global.read_defs = defs;
            if current.changed_at != global.seen_change {
                global.changes += 1;
                global.seen_change = current.changed_at;
            }
        }
        Some(global)
    }

    /// Ends the declaration of the handle of rep `rep` (the component dropped it).
    #[cfg_attr(not(feature = "component"), allow(dead_code))]
    pub(crate) fn drop_component(&mut self, rep: u32) {
        let Some(index) = self.component_index(rep) else {
            return;
        };
        let Some(global) = self.components.get_mut(index).and_then(Option::take) else {
            return;
        };
        // An index of `components`, which holds fewer than u32::MAX entries.
        self.components_free.push(index as u32);
        self.refund(global.charged);
        self.declared -= 1;
        let leaves = self.names.leave(&global.name);
        self.globals
            .undeclare(self.id, false, [Release::ordinary(&global.name, leaves)]);
    }
}
