//! The conformance guest profile ([the conformance
//! profile](wasmtime_global_abi::spec::conformance)): the exports a guest under test provides
//! and the globals it declares.

use wasmtime_global::ValueType;

/// `wgc_init: () -> ()`: declares [`GLOBALS`], in order, through the SDK's declaration path.
pub const INIT: &str = "wgc_init";
/// `wgc_get: (i32) -> i64`: reads global `i` through the SDK's read path and returns its 64 bits.
pub const GET: &str = "wgc_get";
/// `wgc_capacity: () -> i32`: the number of slots in the guest's table.
pub const CAPACITY: &str = "wgc_capacity";
/// `wgc_fill: () -> i32`: declares `conf.fill` globals until the SDK reports the table full;
/// returns how many it declared.
pub const FILL: &str = "wgc_fill";

/// The name of every global `wgc_fill` declares (an SDK that gives two globals of one name one
/// slot may append `.N`, N from 0).
pub const FILL_NAME: &str = "conf.fill";
/// The default of every fill global.
pub const FILL_DEFAULT: u64 = 7;

/// One global of the profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Global {
    /// Its number: the argument of `wgc_get`.
    pub index: u32,
    pub name: &'static str,
    pub ty: ValueType,
    /// The default, as the 64 bits of the slot's `default` field.
    pub default: u64,
}

/// The longest name: 255 bytes, `N` repeated.
pub const LONG_NAME: &str = match core::str::from_utf8(&[b'N'; 255]) {
    Ok(name) => name,
    Err(_) => panic!("ASCII is UTF-8"),
};

/// The globals `wgc_init` declares, in order; `wgc_get(i)` reads `GLOBALS[i]`.
pub const GLOBALS: [Global; 10] = [
    global(0, "conf.bool", ValueType::Bool, 1),
    global(1, "conf.u64", ValueType::U64, 42),
    global(2, "conf.i64", ValueType::I64, -42i64 as u64),
    global(3, "conf.f64", ValueType::F64, 0x3ff8_0000_0000_0000), // 1.5
    global(4, "conf.duration", ValueType::Duration, 60_000_000_000), // 60 s
    global(5, "5j3rldmyid5yi", ValueType::U64, 5),
    global(6, "pkj7qegsilwso", ValueType::U64, 6),
    global(7, LONG_NAME, ValueType::U64, 255),
    global(8, "conf.unset", ValueType::U64, 8),
    global(9, "conf.early", ValueType::U64, 9),
];

const fn global(index: u32, name: &'static str, ty: ValueType, default: u64) -> Global {
    Global {
        index,
        name,
        ty,
        default,
    }
}

/// What `wgc_get` returns for `bits` in a slot of type `ty`: a boolean reads as 0 or 1, every
/// other type as its 64 bits.
#[must_use]
pub fn read_as(ty: ValueType, bits: u64) -> u64 {
    match ty {
        ValueType::Bool => u64::from(bits != 0),
        _ => bits,
    }
}
