//! The name hash: 64-bit FNV-1a.

/// FNV-1a 64-bit offset basis.
pub const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a 64-bit prime.
pub const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// The 64-bit FNV-1a hash of `bytes`, stored in [`Slot::hash`](crate::Slot::hash).
///
/// For each byte: `hash ^= byte; hash = hash.wrapping_mul(FNV_PRIME)`, starting from
/// [`FNV_OFFSET_BASIS`].
///
/// ```
/// assert_eq!(wasmtime_global_abi::fnv1a64(b""), 0xcbf29ce484222325);
/// assert_eq!(wasmtime_global_abi::fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
/// ```
#[must_use]
pub const fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash = FNV_OFFSET_BASIS;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(FNV_PRIME);
        i += 1;
    }
    hash
}
