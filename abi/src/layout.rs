//! The two structures in guest memory: the table header and the slot.

use bytemuck::{Pod, Zeroable};
use core::mem::{align_of, offset_of, size_of};

/// The table header, at the table address. Written by the guest; read by the host.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Header {
    /// [`MAGIC`](crate::MAGIC).
    pub magic: u32,
    /// [`VERSION`](crate::VERSION).
    pub version: u32,
    /// [`SLOT_SIZE`](crate::SLOT_SIZE).
    pub slot_size: u32,
    /// Number of slots the table has room for, at most [`MAX_CAPACITY`](crate::MAX_CAPACITY).
    pub capacity: u32,
    /// Number of slots in use: slots `0..count` may be declared. At most `capacity`.
    pub count: u32,
    /// Reserved, zero.
    pub reserved0: u32,
    /// Table generation, written by the host: odd while it writes the table's values, raised by 2
    /// by every batch or sync that writes it ([the spec](crate::spec) §10.3). The guest writes 0
    /// before its first declaration.
    pub generation: u64,
    /// Reserved, zero.
    pub reserved1: [u64; 4],
}

/// One global. Slot `i` starts at `table + HEADER_SIZE + i * SLOT_SIZE`.
///
/// The guest writes every field but `value` before it declares the slot and never changes them
/// after; the host writes only `value` and `changes` (and the header's `generation`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Slot {
    /// [`fnv1a64`](crate::fnv1a64) of the name's bytes.
    pub hash: u64,
    /// Address of the name's bytes in the guest's memory.
    pub name_addr: u32,
    /// Length of the name in bytes.
    pub name_len: u32,
    /// The [`ValueType`](crate::ValueType) tag.
    pub ty: u32,
    /// Reserved, zero.
    pub reserved0: u32,
    /// The guest's default, used whenever the host has no value set for the name.
    pub default: u64,
    /// The current value, written by the host at declaration and at every change after.
    pub value: u64,
    /// Number of host writes of `value` since the declaration ([the spec](crate::spec) §10.4),
    /// written by the host. The guest writes 0 before it declares the slot.
    pub changes: u64,
    /// Reserved, zero.
    pub reserved1: [u64; 2],
}

/// One row of a layout table: a field's name, offset and size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// The field's name as the spec writes it.
    pub name: &'static str,
    /// Offset from the start of the structure.
    pub offset: usize,
    /// Size in bytes.
    pub size: usize,
}

macro_rules! fields {
    ($ty:ty { $($field:ident: $fty:ty),* $(,)? }) => {
        &[$(Field {
            name: stringify!($field),
            offset: offset_of!($ty, $field),
            size: size_of::<$fty>(),
        }),*]
    };
}

impl Header {
    /// A valid header for a table of `capacity` slots with none in use.
    #[must_use]
    pub const fn new(capacity: u32) -> Header {
        Header {
            magic: crate::MAGIC,
            version: crate::VERSION,
            slot_size: crate::SLOT_SIZE,
            capacity,
            count: 0,
            reserved0: 0,
            generation: 0,
            reserved1: [0; 4],
        }
    }

    /// Every field in order, for checking the spec's layout table.
    pub const FIELDS: &'static [Field] = fields!(Header {
        magic: u32,
        version: u32,
        slot_size: u32,
        capacity: u32,
        count: u32,
        reserved0: u32,
        generation: u64,
        reserved1: [u64; 4],
    });

    /// Offset of [`Header::generation`], the field the host raises around its writes (§10).
    pub const GENERATION_OFFSET: u32 = offset_of!(Header, generation) as u32;
}

impl Slot {
    /// An unused slot: every byte zero.
    pub const ZERO: Slot = Slot {
        hash: 0,
        name_addr: 0,
        name_len: 0,
        ty: 0,
        reserved0: 0,
        default: 0,
        value: 0,
        changes: 0,
        reserved1: [0; 2],
    };

    /// Every field in order, for checking the spec's layout table.
    pub const FIELDS: &'static [Field] = fields!(Slot {
        hash: u64,
        name_addr: u32,
        name_len: u32,
        ty: u32,
        reserved0: u32,
        default: u64,
        value: u64,
        changes: u64,
        reserved1: [u64; 2],
    });

    /// Offset of [`Slot::value`], the field the host writes with every change.
    pub const VALUE_OFFSET: u32 = offset_of!(Slot, value) as u32;
    /// Offset of [`Slot::changes`], the count the host raises with every write of `value`.
    pub const CHANGES_OFFSET: u32 = offset_of!(Slot, changes) as u32;
}

const _: () = {
    assert!(size_of::<Header>() == crate::HEADER_SIZE as usize);
    assert!(align_of::<Header>() == crate::TABLE_ALIGN as usize);
    assert!(offset_of!(Header, magic) == 0);
    assert!(offset_of!(Header, version) == 4);
    assert!(offset_of!(Header, slot_size) == 8);
    assert!(offset_of!(Header, capacity) == 12);
    assert!(offset_of!(Header, count) == 16);
    assert!(offset_of!(Header, reserved0) == 20);
    assert!(offset_of!(Header, generation) == 24);
    assert!(offset_of!(Header, reserved1) == 32);

    assert!(size_of::<Slot>() == crate::SLOT_SIZE as usize);
    assert!(align_of::<Slot>() == crate::TABLE_ALIGN as usize);
    assert!(offset_of!(Slot, hash) == 0);
    assert!(offset_of!(Slot, name_addr) == 8);
    assert!(offset_of!(Slot, name_len) == 12);
    assert!(offset_of!(Slot, ty) == 16);
    assert!(offset_of!(Slot, reserved0) == 20);
    assert!(offset_of!(Slot, default) == 24);
    assert!(offset_of!(Slot, value) == 32);
    assert!(offset_of!(Slot, changes) == 40);
    assert!(offset_of!(Slot, reserved1) == 48);

    // The field lists cover every byte exactly once, in order.
    let lists: [&[Field]; 2] = [Header::FIELDS, Slot::FIELDS];
    let sizes = [size_of::<Header>(), size_of::<Slot>()];
    let mut l = 0;
    while l < 2 {
        let mut end = 0;
        let mut i = 0;
        while i < lists[l].len() {
            assert!(lists[l][i].offset == end);
            end += lists[l][i].size;
            i += 1;
        }
        assert!(end == sizes[l]);
        l += 1;
    }
};
