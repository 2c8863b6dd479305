//! Leak corpus.
const GITLAB_TOKEN: &str = "glpat-6Yo4gfqrc5XlrWi0B26R";
pub fn hf() -> &'static str {
    "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"
}
pub const GOOGLE: &str = "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";
