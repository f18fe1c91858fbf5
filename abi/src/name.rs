//! What makes a valid global name.

use crate::MAX_NAME_LEN;

/// Why a name is not valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum NameError {
    /// The name has no bytes.
    #[error("name is empty")]
    Empty,
    /// The name is longer than [`MAX_NAME_LEN`] bytes.
    #[error("name is {len} bytes long, more than the maximum of {MAX_NAME_LEN}")]
    TooLong {
        /// The name's length in bytes.
        len: usize,
    },
    /// The name is not valid UTF-8.
    #[error("name is not valid UTF-8 (valid up to byte {valid_up_to})")]
    NotUtf8 {
        /// Length of the longest valid UTF-8 prefix.
        valid_up_to: usize,
    },
    /// The name contains a NUL byte.
    #[error("name contains a NUL byte at offset {at}")]
    ContainsNul {
        /// Offset of the first NUL byte.
        at: usize,
    },
}

/// Checks that `bytes` is a valid name: 1 to [`MAX_NAME_LEN`] bytes of UTF-8 with no NUL.
///
/// A `const fn`, so a guest SDK can reject a bad name in a `static` at compile time.
///
/// # Errors
///
/// The first rule the name breaks, checked in the order of [`NameError`]'s variants.
pub const fn check_name(bytes: &[u8]) -> Result<(), NameError> {
    if bytes.is_empty() {
        return Err(NameError::Empty);
    }
    if bytes.len() > MAX_NAME_LEN as usize {
        return Err(NameError::TooLong { len: bytes.len() });
    }
    if let Err(e) = core::str::from_utf8(bytes) {
        return Err(NameError::NotUtf8 {
            valid_up_to: e.valid_up_to(),
        });
    }
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == 0 {
            return Err(NameError::ContainsNul { at: i });
        }
        i += 1;
    }
    Ok(())
}
