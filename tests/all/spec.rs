//! The spec checked against the abi crate.
