//! The JSON values the policy keeps of a pod template (and its settings),
//! borrowed from the request text.
//!
//! A securityContext has a handful of fields and a container a few kept
//! ones, so an object is a short list of its fields in the order they came:
//! one allocation, looked up by a scan, where a tree map allocates a node
//! per object and a string per key. Strings and keys point into the request
//! and are copied only when they hold escapes. The API follows
//! `serde_json::Value`'s, so a rule reads as it would there.

use crate::json::write_string;
use std::borrow::Cow;
use std::fmt;

#[derive(Clone, Debug, Default, PartialEq)]
pub enum Value<'a> {
    #[default]
    Null,
    Bool(bool),
    Number(Number<'a>),
    String(Cow<'a, str>),
    Array(Vec<Value<'a>>),
    Object(Map<'a>),
}

/// A JSON number: a whole number that fits 64 bits is read as one
/// (non-negative ones unsigned, as serde_json reads them); anything else is
/// kept as its text, which no rule computes with, and written back as it
/// came.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number<'a> {
    Unsigned(u64),
    Negative(i64),
    Other(&'a str),
}

impl Number<'_> {
    pub fn as_i64(self) -> Option<i64> {
        match self {
            Number::Unsigned(number) => i64::try_from(number).ok(),
            Number::Negative(number) => Some(number),
            Number::Other(_) => None,
        }
    }
}

impl From<i64> for Number<'_> {
    fn from(number: i64) -> Self {
        match u64::try_from(number) {
            Ok(unsigned) => Number::Unsigned(unsigned),
            Err(_) => Number::Negative(number),
        }
    }
}

impl fmt::Display for Number<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        write_number(&mut out, *self);
        formatter.write_str(&out)
    }
}

/// Whether two keys are the same. Keys are short and mostly differ in
/// length or first or last letter, so those are compared first; the rest
/// is compared here, since in WebAssembly a plain `==` calls an out-of-line
/// `memcmp` for every pair.
#[inline]
pub fn same_key(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.first() == b.first() && a.last() == b.last() && same_bytes(a, b)
}

/// Whether two byte strings of one length are the same: eight bytes at a
/// time, then one at a time.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let mut a_words = a.chunks_exact(8);
    let mut b_words = b.chunks_exact(8);
    for (a_word, b_word) in (&mut a_words).zip(&mut b_words) {
        if u64::from_le_bytes(a_word.try_into().unwrap_or_default())
            != u64::from_le_bytes(b_word.try_into().unwrap_or_default())
        {
            return false;
        }
    }
    let (a_rest, b_rest) = (a_words.remainder(), b_words.remainder());
    (0..a_rest.len()).all(|index| a_rest[index] == b_rest[index])
}

/// The fields of a JSON object, in the order they came. A repeated key keeps
/// its first place and its last value, as serde_json and Go's decoder do.
#[derive(Clone, Debug, Default)]
pub struct Map<'a>(Vec<(Cow<'a, str>, Value<'a>)>);

impl<'a> Map<'a> {
    pub fn new() -> Map<'a> {
        Map(Vec::new())
    }

    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        self.0
            .iter()
            .find(|(name, _)| same_key(name, key))
            .map(|(_, value)| value)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value<'a>> {
        self.0
            .iter_mut()
            .find(|(name, _)| same_key(name, key))
            .map(|(_, value)| value)
    }

    /// Sets `key`, returning the value it replaces.
    pub fn insert(&mut self, key: impl Into<Cow<'a, str>>, value: Value<'a>) -> Option<Value<'a>> {
        let key = key.into();
        match self.get_mut(&key) {
            Some(slot) => Some(std::mem::replace(slot, value)),
            None => {
                self.0.push((key, value));
                None
            }
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value<'a>)> {
        self.0.iter().map(|(key, value)| (key.as_ref(), value))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(key, _)| key.as_ref())
    }
}

impl<'m, 'a> IntoIterator for &'m Map<'a> {
    type Item = (&'m str, &'m Value<'a>);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'m, (Cow<'a, str>, Value<'a>)>,
        fn(&'m (Cow<'a, str>, Value<'a>)) -> (&'m str, &'m Value<'a>),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(key, value)| (key.as_ref(), value))
    }
}

/// Objects are equal when they have the same fields, in any order.
impl PartialEq for Map<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .all(|(key, value)| other.get(key) == Some(value))
    }
}

impl<'a> Value<'a> {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(value) => Some(*value),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(number) => number.as_i64(),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Vec<Value<'a>>> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Map<'a>> {
        match self {
            Value::Object(fields) => Some(fields),
            _ => None,
        }
    }

    pub fn as_object_mut(&mut self) -> Option<&mut Map<'a>> {
        match self {
            Value::Object(fields) => Some(fields),
            _ => None,
        }
    }

    pub fn is_object(&self) -> bool {
        matches!(self, Value::Object(_))
    }

    /// A short description for a message: the value itself when it is
    /// small, its type otherwise.
    pub fn describe(&self) -> String {
        match self {
            Value::Null | Value::Bool(_) | Value::Number(_) => self.to_string(),
            Value::String(text) if text.len() <= 40 => format!("\"{text}\""),
            Value::String(_) => "a long string".to_string(),
            Value::Array(_) => "a list".to_string(),
            Value::Object(_) => "an object".to_string(),
        }
    }

    /// A field of an object; `None` for anything else.
    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        self.as_object()?.get(key)
    }

    /// The value at a path of keys, e.g. `["metadata", "annotations"]`.
    pub fn at(&self, path: &[&str]) -> Option<&Value<'a>> {
        path.iter().try_fold(self, |value, key| value.get(key))
    }

    /// The value, leaving `null` in its place.
    pub fn take(&mut self) -> Value<'a> {
        std::mem::take(self)
    }
}

impl PartialEq<str> for Value<'_> {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == Some(other)
    }
}

impl PartialEq<&str> for Value<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(text: &'a str) -> Value<'a> {
        Value::String(Cow::Borrowed(text))
    }
}

impl From<i64> for Value<'_> {
    fn from(number: i64) -> Self {
        Value::Number(Number::from(number))
    }
}

/// `value["key"]`: the field, or `null` when there is none (as serde_json).
impl<'a> std::ops::Index<&str> for Value<'a> {
    type Output = Value<'a>;

    fn index(&self, key: &str) -> &Value<'a> {
        self.get(key).unwrap_or(&Value::Null)
    }
}

/// `value[index]`: the item, or `null` when there is none.
impl<'a> std::ops::Index<usize> for Value<'a> {
    type Output = Value<'a>;

    fn index(&self, index: usize) -> &Value<'a> {
        self.as_array()
            .and_then(|items| items.get(index))
            .unwrap_or(&Value::Null)
    }
}

impl<'a> std::ops::Index<&str> for Map<'a> {
    type Output = Value<'a>;

    fn index(&self, key: &str) -> &Value<'a> {
        self.get(key).unwrap_or(&Value::Null)
    }
}

/// Tests compare what the policy read with objects written with `json!`.
#[cfg(test)]
impl PartialEq<serde_json::Value> for Value<'_> {
    fn eq(&self, other: &serde_json::Value) -> bool {
        serde_json::from_str::<serde_json::Value>(&self.to_string())
            .ok()
            .as_ref()
            == Some(other)
    }
}

/// Compact JSON, as `serde_json::to_string` writes it (fields in their order).
impl fmt::Display for Value<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        write_value(&mut out, self);
        formatter.write_str(&out)
    }
}

/// An object as compact JSON text.
pub fn object_text(fields: &Map) -> String {
    let mut out = String::with_capacity(128);
    write_object(&mut out, fields);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => write_number(out, *number),
        Value::String(text) => write_string(out, text),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(fields) => write_object(out, fields),
    }
}

fn write_object(out: &mut String, fields: &Map) {
    out.push('{');
    for (index, (key, item)) in fields.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        write_string(out, key);
        out.push(':');
        write_value(out, item);
    }
    out.push('}');
}

/// A number as JSON text: a whole one in decimal, without the formatting
/// machinery; any other as it came.
fn write_number(out: &mut String, number: Number) {
    let (mut magnitude, negative) = match number {
        Number::Unsigned(number) => (number, false),
        Number::Negative(number) => (number.unsigned_abs(), true),
        Number::Other(text) => return out.push_str(text),
    };
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    if negative {
        out.push('-');
    }
    out.push_str(std::str::from_utf8(&digits[start..]).unwrap_or_default());
}

/// Reads a whole JSON text (tests build objects with `serde_json::json!`).
#[cfg(test)]
pub fn parse(text: &str) -> Value<'_> {
    let mut scanner = crate::scan::Scanner::new(text);
    let value = scanner.value().expect("valid JSON");
    scanner.end().expect("one JSON value");
    value
}

/// A test object written with `json!`, as the policy would read it.
#[cfg(test)]
pub fn from_json(value: &serde_json::Value) -> Value<'static> {
    parse(Box::leak(value.to_string().into_boxed_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_borrows_and_writes_back_as_serde_json_does() {
        let text = r#"{"b":1,"a":[true,null,-3,2.5,"x\"y"],"c":{"d":{}},"e":18446744073709551615}"#;
        let value = parse(text);
        assert_eq!(value.to_string(), text);
        assert!(matches!(
            value.get("a").and_then(|a| a.as_array()).map(|a| &a[4]),
            Some(Value::String(Cow::Owned(_)))
        ));
        assert!(matches!(
            value.at(&["c", "d"]),
            Some(Value::Object(fields)) if fields.is_empty()
        ));
        assert_eq!(value.get("b").and_then(Value::as_i64), Some(1));
        assert_eq!(value.get("e").and_then(Value::as_i64), None);
    }

    #[test]
    fn a_repeated_key_keeps_its_place_and_its_last_value() {
        let value = parse(r#"{"a":1,"b":2,"a":3}"#);
        assert_eq!(value.to_string(), r#"{"a":3,"b":2}"#);
    }

    #[test]
    fn objects_compare_without_order_and_numbers_by_kind() {
        assert_eq!(parse(r#"{"a":1,"b":[2]}"#), parse(r#"{"b":[2],"a":1}"#));
        assert_ne!(parse(r#"{"a":1}"#), parse(r#"{"a":1.0}"#));
        assert_ne!(parse(r#"{"a":1}"#), parse(r#"{"a":1,"b":null}"#));
    }

    #[test]
    fn numbers_write_back_as_they_came() {
        for text in [
            "0",
            "-1",
            "9223372036854775807",
            "-9223372036854775808",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775809",
            "-0",
            "1.5",
            "1.50",
            "1e300",
            "1E+2",
            "0.1",
        ] {
            assert_eq!(parse(text).to_string(), text);
            let serde: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(parse(text), serde, "{text}");
        }
        assert_eq!(parse("1").as_i64(), Some(1));
        assert_eq!(parse("-1").as_i64(), Some(-1));
        assert_eq!(parse("1.0").as_i64(), None);
        assert!(matches!(
            parse("18446744073709551615"),
            Value::Number(Number::Unsigned(u64::MAX))
        ));
    }

    #[test]
    fn keys_compare_as_strings_do() {
        let keys = [
            "",
            "a",
            "b",
            "ab",
            "ba",
            "name",
            "image",
            "securityContext",
            "securityContexts",
            "securityContent",
            "allowPrivilegeEscalation",
            "allowPrivilegeEscalatioN",
            "readOnlyRootFilesystem",
            "é",
            "ê",
        ];
        for a in keys {
            for b in keys {
                assert_eq!(same_key(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }
}
