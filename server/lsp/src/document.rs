//! The editor's open buffers, kept equal to the client's text by applying each
//! incremental `didChange` edit in the negotiated position encoding.

use tower_lsp_server::ls_types::TextDocumentContentChangeEvent;

use crate::encoding::{PositionEncoding, offset_of};

/// Largest buffer accepted from an editor; bigger ones are not indexed (the engine
/// refuses files over its own limit too) but are still tracked so edits stay in sync.
pub const MAX_DOCUMENT_BYTES: usize = 64 << 20;

#[derive(Debug, Clone)]
pub struct Document {
    /// The file path the URI names (not yet confined: the engine resolves it).
    pub path: String,
    pub text: String,
    pub version: i32,
}

impl Document {
    pub fn new(path: String, text: String, version: i32) -> Document {
        Document {
            path,
            text,
            version,
        }
    }

    /// Applies the changes of one `didChange`, in order.
    pub fn apply(
        &mut self,
        changes: Vec<TextDocumentContentChangeEvent>,
        version: i32,
        enc: PositionEncoding,
    ) {
        for change in changes {
            match change.range {
                None => self.text = change.text,
                Some(range) => {
                    let start = offset_of(&self.text, range.start, enc);
                    let end = offset_of(&self.text, range.end, enc).max(start);
                    self.text.replace_range(start..end, &change.text);
                }
            }
        }
        self.version = version;
    }
}

#[cfg(test)]
mod tests {
    use tower_lsp_server::ls_types::{Position, Range};

    use super::*;

    fn edit(sl: u32, sc: u32, el: u32, ec: u32, text: &str) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range: Some(Range::new(Position::new(sl, sc), Position::new(el, ec))),
            range_length: None,
            text: text.into(),
        }
    }

    #[test]
    fn incremental_edits_after_non_bmp_text_land_where_the_client_put_them() {
        let mut d = Document::new("x".into(), "let s = \"😀\";\r\nfoo();\r\n".into(), 1);
        // utf-16: the emoji is 2 columns (9 and 10), so `;` is at 12.
        d.apply(vec![edit(0, 12, 0, 13, ",")], 2, PositionEncoding::Utf16);
        assert_eq!(d.text, "let s = \"😀\",\r\nfoo();\r\n");
        d.apply(vec![edit(1, 0, 1, 3, "bar")], 3, PositionEncoding::Utf16);
        assert_eq!(d.text, "let s = \"😀\",\r\nbar();\r\n");
        // utf-8: the emoji is 4 columns (9 to 12), so `,` is at 14.
        d.apply(vec![edit(0, 14, 0, 15, ";")], 4, PositionEncoding::Utf8);
        assert_eq!(d.text, "let s = \"😀\";\r\nbar();\r\n");
        assert_eq!(d.version, 4);
    }

    #[test]
    fn several_changes_in_one_notification_apply_in_order() {
        let mut d = Document::new("x".into(), "abc\n".into(), 1);
        d.apply(
            vec![
                edit(0, 0, 0, 0, "X"),
                edit(0, 4, 0, 4, "Y"),
                edit(1, 0, 1, 0, "Z"),
            ],
            2,
            PositionEncoding::Utf16,
        );
        assert_eq!(d.text, "XabcY\nZ");
    }

    #[test]
    fn a_full_text_change_replaces_everything() {
        let mut d = Document::new("x".into(), "old".into(), 1);
        d.apply(
            vec![TextDocumentContentChangeEvent {
                range: None,
                range_length: None,
                text: "new".into(),
            }],
            2,
            PositionEncoding::Utf16,
        );
        assert_eq!(d.text, "new");
    }
}
