//! The fenced code blocks of a Markdown file: how the tests find each block of the README that
//! they compile or run. Shared with the build script, which writes the README's Rust blocks out
//! for `tests/all/readme.rs` to compile.

/// One fenced block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The info string's first word: `rust`, `sh`, `c`, `go`, or empty.
    pub lang: String,
    /// The lines between the fences, each ending in a newline.
    pub code: String,
    /// The line of the opening fence, from 1.
    pub line: usize,
}

/// Every fenced (```) block of `markdown`, in order.
///
/// # Panics
///
/// If a block is not closed: the README would render wrongly.
#[must_use]
pub fn blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in markdown.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => {
                let lang = info.split([',', ' ']).next().unwrap_or_default();
                open = Some(Block {
                    lang: lang.to_owned(),
                    code: String::new(),
                    line: i + 1,
                });
            }
            (Some(_), Some("")) => blocks.extend(open.take()),
            (Some(block), _) => {
                block.code.push_str(line);
                block.code.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "a code block is not closed");
    blocks
}

/// The Rust blocks that embed the host (every Rust block but the guests', which use the guest
/// SDK), in order.
#[must_use]
pub fn host_blocks(markdown: &str) -> Vec<Block> {
    blocks(markdown)
        .into_iter()
        .filter(|b| b.lang == "rust" && !b.code.contains("use wasmtime_global_guest"))
        .collect()
}
