//! The workspace's end-to-end tests and benches (`all/`, `benches/`); the library holds what
//! they share with the build script: the README's fenced blocks.

/// The README's code blocks.
pub mod readme;
