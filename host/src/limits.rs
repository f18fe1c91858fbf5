//! [`Limits`]: how much one store's guests may make the host hold.

/// What one store's guests may declare, so that no guest makes the host hold, or write at every
/// change, more than its embedder allows. A declaration past a limit traps the guest with
/// [`Error::LimitExceeded`](crate::Error::LimitExceeded), which names the limit; what was
/// declared before stays declared.
///
/// wasmtime's [`ResourceLimiter`](wasmtime::ResourceLimiter) does not see the host's own memory:
/// these limits are what bounds it. The defaults let a store hold thousands of globals in many
/// instances and bound what a hostile guest can make the host hold to 4 MiB a store, whatever
/// the indexes of the slots it declares.
///
/// They are per store: a service that runs thousands of stores at once multiplies them (10,000
/// stores at the defaults: 40 GiB). [`Globals::set_max_host_bytes`](crate::Globals::set_max_host_bytes)
/// bounds what all the stores of a registry, and of the registries below it, hold together.
///
/// ```
/// use wasmtime_global::{Globals, GlobalsCtx, Limits};
///
/// let globals = Globals::new();
/// let limits = Limits {
///     declarations: 256,
///     ..Limits::default()
/// };
/// let ctx = GlobalsCtx::with_limits(&globals, limits);
/// assert_eq!(ctx.limits().declarations, 256);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Slots declared, all tables of the store together (a slot declared again counts once);
    /// and, separately, the globals its components declared over the store's life (a handle
    /// dropped does not give its declaration back: a component that declares in a loop meets
    /// the limit rather than churning the registry). Default 16,384.
    pub declarations: u32,
    /// Tables declared into (a table is a memory and an address). Default 256.
    pub tables: u32,
    /// Slots of one name in one table. A set writes every slot of its name, so this bounds what
    /// one table adds to each set of a name; it is per table, not per store, so that every
    /// instance of one module in one store may declare the same names. Default 16.
    pub same_name_slots: u32,
    /// Bytes of host memory that the store's declarations may hold, as
    /// [`GlobalsCtx::host_bytes`](crate::GlobalsCtx::host_bytes) counts them (an upper bound of
    /// what they allocate). Default 4 MiB.
    pub host_bytes: u64,
}

impl Limits {
    /// No limit: for guests the embedder trusts.
    pub const UNLIMITED: Limits = Limits {
        declarations: u32::MAX,
        tables: u32::MAX,
        same_name_slots: u32::MAX,
        host_bytes: u64::MAX,
    };
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            declarations: 16 * 1024,
            tables: 256,
            same_name_slots: 16,
            host_bytes: 4 << 20,
        }
    }
}

/// One of the [`Limits`], as [`Error::LimitExceeded`](crate::Error::LimitExceeded) names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// [`Limits::declarations`].
    Declarations,
    /// [`Limits::tables`].
    Tables,
    /// [`Limits::same_name_slots`].
    SameNameSlots,
    /// [`Limits::host_bytes`].
    HostBytes,
    /// The bound of a store's registry, or of one above it, on what all their stores hold
    /// together ([`Globals::set_max_host_bytes`](crate::Globals::set_max_host_bytes)).
    RegistryHostBytes,
}

impl core::fmt::Display for Limit {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Limit::Declarations => "declarations",
            Limit::Tables => "tables",
            Limit::SameNameSlots => "slots of one name in one table",
            Limit::HostBytes => "host bytes",
            Limit::RegistryHostBytes => "host bytes of the registry's stores together",
        })
    }
}

/// What a declaration in an ordinary memory is charged against [`Limits::host_bytes`], besides
/// its name's bytes: the store's record of the slot and its place in the indexes, the store's
/// count of its slots of the name (for the registry's [snapshot](crate::Globals::snapshot)), the
/// registry's entry for the name if the store is the first to declare it, and the store's index
/// of its slots by name that its first sync of a change builds. Charged in full for every
/// declaration, so the count is an upper bound whatever the slots' indexes and whether or not
/// the store syncs: `cargo test -p wasmtime-global --test store_limits -- --nocapture` prints
/// what 1,024 declarations hold in order, in reverse, every other and every 64th index, against
/// what they are charged, and fails if any holds more.
pub(crate) const DECLARATION_BYTES: u64 = 512;
/// The same for a slot in a shared memory, which the registry records too (the slot, its place
/// in its table's index of names, the name's list of tables), and which no sync indexes.
pub(crate) const SHARED_DECLARATION_BYTES: u64 = 800;
/// What a table is charged, besides its slots: the store's record of it and of its memory (the
/// first table of a store also starts the store's vectors and maps), and for a table of a
/// shared memory the registry's record of it and its claim ([`crate::claims`]).
pub(crate) const TABLE_BYTES: u64 = 1280;
