//! Reading and editing the request's JSON without building a tree of it.
//!
//! The policy needs a few parts of a large object (the pod spec, each
//! container's securityContext) and changes even fewer. Everything else is
//! kept as raw slices of the request text: `find` walks down a path in one
//! pass, skipping what is not on it, and `Splicer` writes the object back out
//! as the original text with only the changed byte ranges replaced. Fields the
//! policy does not know, at any depth, come back byte for byte.

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use std::fmt;
use std::marker::PhantomData;

/// Deserializes the value at `path` inside the JSON object `text` as `T`,
/// skipping every other field on the way. `Ok(None)` when a key on the path
/// is missing or `null`.
pub fn find<'de, T: Deserialize<'de>>(
    text: &'de str,
    path: &[&str],
) -> Result<Option<T>, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let found = PathSeed::<T> {
        path,
        target: PhantomData,
    }
    .deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(found)
}

struct PathSeed<'p, T> {
    path: &'p [&'p str],
    target: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for PathSeed<'_, T> {
    type Value = Option<T>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
        if self.path.is_empty() {
            return Option::<T>::deserialize(deserializer);
        }
        deserializer.deserialize_any(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for PathSeed<'_, T> {
    type Value = Option<T>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        write!(formatter, "an object with the field \"{}\"", self.path[0])
    }

    fn visit_unit<E>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Option<T>, M::Error> {
        let (wanted, rest) = self.path.split_first().expect("path is not empty");
        let mut found = None;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if key.0 == *wanted {
                // A repeated key overrides the earlier one, as in Go's decoder.
                found = map.next_value_seed(PathSeed::<T> {
                    path: rest,
                    target: PhantomData,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// An object key or a kept string, borrowed from the request text unless it
/// has escapes.
pub struct Key<'de>(pub std::borrow::Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(text.into()))
            }
            fn visit_str<E>(self, text: &str) -> Result<Key<'de>, E> {
                Ok(Key(text.to_owned().into()))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Whether a raw value is JSON `null` (an unset field, for Kubernetes).
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
    use serde_json::value::RawValue;
    use serde_json::{Value, json};

    #[test]
    fn find_walks_a_path_and_skips_the_rest() {
        let text = r#"{"a": [1, {"x": 2}], "spec": {"template": {"spec": {"n": 3}}, "z": "q"}}"#;
        let found: Option<Value> = find(text, &["spec", "template", "spec"]).unwrap();
        assert_eq!(found, Some(json!({"n": 3})));
        let missing: Option<Value> = find(text, &["spec", "nothing"]).unwrap();
        assert_eq!(missing, None);
        let whole: Option<Value> = find(text, &[]).unwrap();
        assert_eq!(whole.unwrap()["spec"]["z"], "q");
    }

    #[test]
    fn find_treats_null_as_missing_and_refuses_non_objects() {
        let found: Option<Value> = find(r#"{"spec": null}"#, &["spec", "x"]).unwrap();
        assert_eq!(found, None);
        let error = find::<Value>(r#"{"spec": "text"}"#, &["spec", "x"]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("expected an object with the field \"x\"")
        );
    }

    #[test]
    fn find_takes_the_last_of_repeated_keys() {
        let found: Option<Value> = find(r#"{"a": 1, "a": 2}"#, &["a"]).unwrap();
        assert_eq!(found, Some(json!(2)));
    }

    #[test]
    fn find_reads_escaped_keys() {
        let found: Option<Value> = find(r#"{"sp\u0065c": 5}"#, &["spec"]).unwrap();
        assert_eq!(found, Some(json!(5)));
    }

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
        #[derive(Deserialize)]
        struct View<'a> {
            #[serde(borrow)]
            sc: &'a RawValue,
            #[serde(borrow)]
            c: &'a RawValue,
            #[serde(borrow)]
            e: &'a RawValue,
            #[serde(borrow)]
            keep: &'a RawValue,
        }
        let view: View = serde_json::from_str(base).unwrap();
        let mut splicer = Splicer::default();
        splicer.replace(view.sc.get(), r#"{"a":1,"b":2}"#.to_string());
        splicer.add_field(view.c.get(), "securityContext", "{}".to_string());
        splicer.add_field(view.e.get(), "k", "true".to_string());
        splicer.add_field_after(view.keep.get(), "after", "0".to_string());
        let out: Value = serde_json::from_str(&splicer.apply(base).unwrap()).unwrap();
        assert_eq!(
            out,
            json!({"keep": {"deep": [1,2]}, "after": 0, "sc": {"a": 1, "b": 2},
                   "c": {"name": "x", "securityContext": {}}, "e": {"k": true}})
        );
        // Edits of another text are refused, not applied somewhere.
        let mut splicer = Splicer::default();
        splicer.replace(view.sc.get(), "{}".to_string());
        assert_eq!(splicer.apply(r#"{"sc": {"a": 1}}"#), None);
    }
}
