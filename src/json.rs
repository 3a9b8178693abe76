//! Editing the request's JSON without building a tree of it.
//!
//! The policy changes a few parts of a large object (each container's
//! securityContext). Everything else is kept as it is: `Splicer` writes the
//! object back out as the original text with only the changed byte ranges
//! replaced, so fields the policy does not know, at any depth, come back
//! byte for byte.

/// `text` as a JSON string.
pub fn write_string(out: &mut String, text: &str) {
    if text
        .bytes()
        .all(|byte| byte >= 0x20 && byte != b'"' && byte != b'\\')
    {
        out.push('"');
        out.push_str(text);
        out.push('"');
    } else {
        // Escapes are rare here: serde_json writes them.
        out.push_str(&serde_json::to_string(text).unwrap_or_default());
    }
}

/// Byte ranges of one text, replaced by new text. The ranges are given as
/// raw values borrowed from the text, and placed in it when the edits are
/// applied, so the text itself is needed only then.
#[derive(Debug, Default)]
pub struct Splicer {
    edits: Vec<Edit>,
}

#[derive(Debug)]
struct Edit {
    /// Where the replaced range starts and ends, as memory addresses.
    start: usize,
    end: usize,
    text: String,
}

impl Splicer {
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// Replaces `old` with `text`.
    pub fn replace(&mut self, old: &str, text: String) {
        let start = address(old);
        self.edits.push(Edit {
            start,
            end: start + old.len(),
            text,
        });
    }

    /// Adds `"key":value` to the object `object` just before its closing
    /// brace.
    pub fn add_field(&mut self, object_text: &str, key: &str, value: String) {
        let closing_brace = address(object_text) + object_text.len() - 1;
        let is_empty = object_text[1..object_text.len() - 1].trim().is_empty();
        let separator = if is_empty { "" } else { "," };
        self.insert(closing_brace, format!("{separator}\"{key}\":{value}"));
    }

    /// Adds `,"key":value` right after `sibling`, a raw value of a field of
    /// the object that gets the new field.
    pub fn add_field_after(&mut self, sibling: &str, key: &str, value: String) {
        let position = address(sibling) + sibling.len();
        let mut field = String::with_capacity(key.len() + value.len() + 4);
        field.push_str(",\"");
        field.push_str(key);
        field.push_str("\":");
        field.push_str(&value);
        self.insert(position, field);
    }

    fn insert(&mut self, position: usize, text: String) {
        self.edits.push(Edit {
            start: position,
            end: position,
            text,
        });
    }

    /// `base` with every edit applied; `None` when an edit is not within
    /// `base` (the raw values were not borrowed from it).
    pub fn apply(mut self, base: &str) -> Option<String> {
        // Stable: inserts at one position stay in the order they were made.
        self.edits.sort_by_key(|edit| (edit.start, edit.end));
        let added: usize = self.edits.iter().map(|edit| edit.text.len()).sum();
        let mut out = String::with_capacity(base.len() + added);
        let mut copied_up_to = 0;
        for edit in &self.edits {
            let start = edit.start.checked_sub(address(base))?;
            let end = edit.end.checked_sub(address(base))?;
            out.push_str(base.get(copied_up_to..start)?);
            out.push_str(&edit.text);
            copied_up_to = end;
        }
        out.push_str(base.get(copied_up_to..)?);
        Some(out)
    }
}

fn address(text: &str) -> usize {
    text.as_ptr() as usize
}

/// How many levels of objects and lists JSON `text` nests, by a plain scan
/// of the text: what the reader's count must agree with.
#[cfg(test)]
pub(crate) fn nesting(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut bytes = text.bytes();
    while let Some(byte) = bytes.next() {
        match byte {
            b'"' => {
                while let Some(byte) = bytes.next() {
                    match byte {
                        b'"' => break,
                        b'\\' => {
                            bytes.next();
                        }
                        _ => {}
                    }
                }
            }
            b'{' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn text_is_what_serde_json_writes() {
        for value in [
            json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"], "add": []},
                   "runAsUser": 1000, "ratio": 1.5, "big": 18446744073709551615u64, "neg": -3,
                   "n": null, "seccompProfile": {"type": "RuntimeDefault"}}),
            json!({"esc\"aped": "tab\there \\ \u{1} é ☃", "": ""}),
            json!([]),
            json!({}),
        ] {
            assert_eq!(
                crate::value::from_json(&value).to_string(),
                value.to_string()
            );
        }
    }

    fn nests_deeper_than(text: &str, limit: usize) -> bool {
        nesting(text) > limit
    }

    #[test]
    fn nesting_depth_ignores_brackets_in_strings() {
        assert!(!nests_deeper_than(r#"{"a": [{"b": "[[[[{{{{\"]]"}]}"#, 3));
        assert!(nests_deeper_than(r#"{"a": [{"b": [1]}]}"#, 3));
        assert!(!nests_deeper_than(r#"{"a": [{"b": [1]}]}"#, 4));
        // Escaped quotes and backslashes inside strings.
        assert!(!nests_deeper_than(
            r#"{"a\\": "\\", "b": "x\"[[[", "c": [1]}"#,
            2
        ));
        assert!(nests_deeper_than(
            r#"{"a\\": "\\", "b": "x\"[[[", "c": [[1]]}"#,
            2
        ));
        assert!(!nests_deeper_than("\"unterminated \\", 0));
    }

    #[test]
    fn splicer_replaces_and_inserts_keeping_everything_else() {
        let base = r#"{"keep": {"deep": [1,2]}, "sc": {"a": 1}, "c": {"name": "x" }, "e": {}}"#;
        let field = |key| crate::scan::find(base, &[key]).unwrap().unwrap();
        let mut splicer = Splicer::default();
        splicer.replace(field("sc"), r#"{"a":1,"b":2}"#.to_string());
        splicer.add_field(field("c"), "securityContext", "{}".to_string());
        splicer.add_field(field("e"), "k", "true".to_string());
        splicer.add_field_after(field("keep"), "after", "0".to_string());
        let out: Value = serde_json::from_str(&splicer.apply(base).unwrap()).unwrap();
        assert_eq!(
            out,
            json!({"keep": {"deep": [1,2]}, "after": 0, "sc": {"a": 1, "b": 2},
                   "c": {"name": "x", "securityContext": {}}, "e": {"k": true}})
        );
        // Edits of another text are refused, not applied somewhere.
        let mut splicer = Splicer::default();
        splicer.replace(field("sc"), "{}".to_string());
        assert_eq!(splicer.apply(r#"{"sc": {"a": 1}}"#), None);
    }
}
