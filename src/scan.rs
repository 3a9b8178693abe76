//! JSON read by hand, in one pass over the request text: the admission
//! request's few fields and, of its object, what the rules read.
//!
//! Most of an admitted object is skipped, and skipping here is a walk over
//! bytes that checks the syntax and counts the nesting, with no visitor in
//! between. It reads strict JSON only (RFC 8259, as serde_json does): what
//! it refuses as [`ScanError::Syntax`] is then read by serde_json, which
//! says why in its own words.

use crate::value::{Map, Number, Value};
use std::borrow::Cow;

/// The deepest nesting read, as serde_json's recursion limit.
pub const MAX_DEPTH: usize = 128;

/// Why a text cannot be read. A single byte, so that every result of the
/// scanner fits a register; the words for a `Type` error are kept in the
/// scanner ([`Scanner::reason`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanError {
    /// Not JSON.
    Syntax,
    /// Nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// A value of the wrong type where it is.
    Type,
}

pub type Scanned<T> = Result<T, ScanError>;

pub struct Scanner<'a> {
    text: &'a str,
    at: usize,
    /// Objects and lists open around the position.
    depth: usize,
    /// The most that were open at once.
    deepest: usize,
    /// Why the last [`ScanError::Type`] was returned, in serde's words, e.g.
    /// `invalid type: integer `5`, expected a string`.
    reason: String,
}

/// The fields of an object being read: `next` gives each key, and the value
/// after it must then be read or skipped.
pub struct Fields {
    first: bool,
}

/// The items of a list being read: `next` says whether there is another,
/// which must then be read or skipped.
pub struct Items {
    first: bool,
}

impl<'a> Scanner<'a> {
    pub fn new(text: &'a str) -> Scanner<'a> {
        Scanner {
            text,
            at: 0,
            depth: 0,
            deepest: 0,
            reason: String::new(),
        }
    }

    /// Why the last [`ScanError::Type`] was returned.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// A [`ScanError::Type`] for `reason`.
    pub fn type_error(&mut self, reason: String) -> ScanError {
        self.reason = reason;
        ScanError::Type
    }

    /// Objects and lists open around the position.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The deepest nesting seen since [`Scanner::reset_deepest`].
    pub fn deepest(&self) -> usize {
        self.deepest
    }

    pub fn reset_deepest(&mut self) {
        self.deepest = self.depth;
    }

    /// The position of the next value, after any blanks.
    pub fn start(&mut self) -> usize {
        self.skip_blanks();
        self.at
    }

    /// The text from `start` to the position.
    pub fn since(&self, start: usize) -> &'a str {
        &self.text[start..self.at]
    }

    /// Only blanks are left.
    pub fn end(&mut self) -> Scanned<()> {
        self.skip_blanks();
        if self.at == self.text.len() {
            Ok(())
        } else {
            Err(ScanError::Syntax)
        }
    }

    #[inline]
    fn skip_blanks(&mut self) {
        let bytes = self.text.as_bytes();
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = bytes.get(self.at) {
            self.at += 1;
        }
    }

    /// The first byte of the next value (after blanks).
    #[inline]
    pub fn peek(&mut self) -> Scanned<u8> {
        self.skip_blanks();
        self.text
            .as_bytes()
            .get(self.at)
            .copied()
            .ok_or(ScanError::Syntax)
    }

    #[inline]
    fn eat(&mut self, byte: u8) -> Scanned<()> {
        if self.peek()? == byte {
            self.at += 1;
            Ok(())
        } else {
            Err(ScanError::Syntax)
        }
    }

    fn open(&mut self, bracket: u8) -> Scanned<()> {
        self.eat(bracket)?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ScanError::TooDeep);
        }
        self.deepest = self.deepest.max(self.depth);
        Ok(())
    }

    /// Whether another field or item follows in the object or list that
    /// `closing` ends (read past it when none does).
    #[inline]
    fn another(&mut self, first: &mut bool, closing: u8) -> Scanned<bool> {
        let byte = self.peek()?;
        let first = std::mem::replace(first, false);
        if byte == closing {
            self.at += 1;
            self.depth -= 1;
            Ok(false)
        } else if !first && byte == b',' {
            self.at += 1;
            Ok(true)
        } else if first {
            // What follows is read as a key or an item, and refused there
            // if it is not one.
            Ok(true)
        } else {
            Err(ScanError::Syntax)
        }
    }

    /// Starts reading an object (the next value must be one).
    pub fn fields(&mut self) -> Scanned<Fields> {
        self.open(b'{')?;
        Ok(Fields { first: true })
    }

    /// Starts reading a list (the next value must be one).
    pub fn items(&mut self) -> Scanned<Items> {
        self.open(b'[')?;
        Ok(Items { first: true })
    }

    /// Reads `null` if it is next.
    #[inline]
    pub fn null(&mut self) -> Scanned<bool> {
        if self.peek()? == b'n' {
            self.literal("null")?;
            return Ok(true);
        }
        Ok(false)
    }

    fn literal(&mut self, word: &str) -> Scanned<()> {
        if self.text[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(())
        } else {
            Err(ScanError::Syntax)
        }
    }

    /// Reads a string (the next value must be one), borrowed unless it has
    /// escapes.
    pub fn string(&mut self) -> Scanned<Cow<'a, str>> {
        self.eat(b'"')?;
        let start = self.at;
        let escaped = self.string_end()?;
        let text = &self.text[start..self.at - 1];
        if !escaped {
            return Ok(Cow::Borrowed(text));
        }
        // Escapes are rare in Kubernetes objects: serde_json decodes them.
        serde_json::from_str(&self.text[start - 1..self.at])
            .map(Cow::Owned)
            .map_err(|_| ScanError::Syntax)
    }

    /// Moves past the closing quote of a string whose opening quote was
    /// read; whether it has escapes.
    fn string_end(&mut self) -> Scanned<bool> {
        let bytes = self.text.as_bytes();
        let mut escaped = false;
        loop {
            self.at = plain_run_end(bytes, self.at);
            let byte = *bytes.get(self.at).ok_or(ScanError::Syntax)?;
            self.at += 1;
            match byte {
                b'"' => return Ok(escaped),
                b'\\' => {
                    escaped = true;
                    match bytes.get(self.at) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.at += 1
                        }
                        Some(b'u') => {
                            let hex = bytes.get(self.at + 1..self.at + 5);
                            if !hex.is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) {
                                return Err(ScanError::Syntax);
                            }
                            self.at += 5;
                        }
                        _ => return Err(ScanError::Syntax),
                    }
                }
                // A control character, which JSON wants escaped.
                _ => return Err(ScanError::Syntax),
            }
        }
    }

    /// Reads a number's text (the next value must be one).
    fn number_text(&mut self) -> Scanned<&'a str> {
        self.skip_blanks();
        let bytes = self.text.as_bytes();
        let start = self.at;
        let digits = |at: &mut usize| {
            let first = *at;
            while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
                *at += 1;
            }
            *at - first
        };
        let mut at = self.at;
        if bytes.get(at) == Some(&b'-') {
            at += 1;
        }
        match bytes.get(at) {
            Some(b'0') => at += 1,
            Some(b'1'..=b'9') => {
                digits(&mut at);
            }
            _ => return Err(ScanError::Syntax),
        }
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            if digits(&mut at) == 0 {
                return Err(ScanError::Syntax);
            }
        }
        if let Some(b'e' | b'E') = bytes.get(at) {
            at += 1;
            if let Some(b'+' | b'-') = bytes.get(at) {
                at += 1;
            }
            if digits(&mut at) == 0 {
                return Err(ScanError::Syntax);
            }
        }
        self.at = at;
        Ok(&self.text[start..at])
    }

    /// Reads a number as serde_json does: whole numbers that fit 64 bits
    /// stay whole.
    fn number(&mut self) -> Scanned<Number> {
        let text = self.number_text()?;
        let whole = !text.contains(['.', 'e', 'E']);
        if whole {
            if let Some(digits) = text.strip_prefix('-') {
                // serde_json reads -0 as a float.
                if let Ok(magnitude @ 1..) = digits.parse::<u64>()
                    && let Some(negative) = 0i64.checked_sub_unsigned(magnitude)
                {
                    return Ok(Number::from(negative));
                }
            } else if let Ok(number) = text.parse::<u64>() {
                return Ok(Number::Unsigned(number));
            }
        }
        match serde_json::from_str::<f64>(text) {
            Ok(number) => Ok(Number::Float(number)),
            Err(_) => Err(self.type_error("number out of range".to_owned())),
        }
    }

    /// Reads any value whole.
    pub fn value(&mut self) -> Scanned<Value<'a>> {
        Ok(match self.peek()? {
            b'{' => {
                let mut fields = self.fields()?;
                let mut object = Map::new();
                while let Some(key) = fields.next(self)? {
                    let value = self.value()?;
                    object.insert(key, value);
                }
                Value::Object(object)
            }
            b'[' => {
                let mut items = self.items()?;
                let mut list = Vec::new();
                while items.next(self)? {
                    list.push(self.value()?);
                }
                Value::Array(list)
            }
            b'"' => Value::String(self.string()?),
            b't' => self.literal("true").map(|()| Value::Bool(true))?,
            b'f' => self.literal("false").map(|()| Value::Bool(false))?,
            b'n' => self.literal("null").map(|()| Value::Null)?,
            _ => Value::Number(self.number()?),
        })
    }

    /// Skips any value, checking it.
    pub fn skip(&mut self) -> Scanned<()> {
        match self.peek()? {
            b'{' => {
                let mut fields = self.fields()?;
                while fields.skip_key(self)? {
                    self.skip()?;
                }
            }
            b'[' => {
                let mut items = self.items()?;
                while items.next(self)? {
                    self.skip()?;
                }
            }
            b'"' => {
                self.at += 1;
                self.string_end()?;
            }
            b't' => self.literal("true")?,
            b'f' => self.literal("false")?,
            b'n' => self.literal("null")?,
            _ => {
                self.number_text()?;
            }
        }
        Ok(())
    }

    /// Skips a value of the wrong type and says what it was, in serde's
    /// words: `invalid type: string "80", expected i64`.
    pub fn wrong_type(&mut self, expected: &str) -> ScanError {
        match self.describe_and_skip() {
            Ok(found) => self.type_error(format!("invalid type: {found}, expected {expected}")),
            Err(error) => error,
        }
    }

    fn describe_and_skip(&mut self) -> Scanned<String> {
        let byte = self.peek()?;
        let found = match byte {
            b'"' => return Ok(format!("string {:?}", self.string()?)),
            b'{' => "map",
            b'[' => "sequence",
            b't' => "boolean `true`",
            b'f' => "boolean `false`",
            b'n' => "null",
            _ => {
                return Ok(match self.number()? {
                    number @ Number::Float(_) => format!("floating point `{number}`"),
                    number => format!("integer `{number}`"),
                });
            }
        };
        self.skip()?;
        Ok(found.to_owned())
    }
}

/// The text of the value at `path` inside the JSON `text`, every other field
/// skipped; `None` when a key on the path is missing or `null`. Of a
/// repeated key the last counts, as in Go's decoder. What cannot be read is
/// told in one phrase.
pub fn find<'a>(text: &'a str, path: &[&str]) -> Result<Option<&'a str>, String> {
    let mut scanner = Scanner::new(text);
    let found = find_in(&mut scanner, path).and_then(|found| scanner.end().map(|()| found));
    found.map_err(|error| match error {
        ScanError::Type => scanner.reason,
        // The words serde_json uses, as for any other JSON it refuses.
        ScanError::TooDeep => "recursion limit exceeded".to_owned(),
        ScanError::Syntax => "it is not valid JSON".to_owned(),
    })
}

fn find_in<'a>(scanner: &mut Scanner<'a>, path: &[&str]) -> Scanned<Option<&'a str>> {
    let Some((wanted, rest)) = path.split_first() else {
        let start = scanner.start();
        scanner.skip()?;
        return Ok(Some(scanner.since(start)).filter(|found| *found != "null"));
    };
    if scanner.null()? {
        return Ok(None);
    }
    if scanner.peek()? != b'{' {
        return Err(scanner.wrong_type(&format!("an object with the field \"{wanted}\"")));
    }
    let mut found = None;
    let mut fields = scanner.fields()?;
    while let Some(key) = fields.next(scanner)? {
        if key == *wanted {
            found = find_in(scanner, rest)?;
        } else {
            scanner.skip()?;
        }
    }
    Ok(found)
}

/// The text of each item of the JSON list `text`.
pub fn items(text: &str) -> Scanned<Vec<&str>> {
    let mut scanner = Scanner::new(text);
    let mut found = Vec::new();
    let mut items = scanner.items()?;
    while items.next(&mut scanner)? {
        let start = scanner.start();
        scanner.skip()?;
        found.push(scanner.since(start));
    }
    scanner.end()?;
    Ok(found)
}

/// Where the run of plain string bytes (no quote, backslash or control
/// character) from `at` ends: eight bytes at a time while it can.
fn plain_run_end(bytes: &[u8], mut at: usize) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let has_zero_byte = |word: u64| word.wrapping_sub(ONES) & !word & HIGH;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let special = has_zero_byte(word ^ (ONES * u64::from(b'"')))
            | has_zero_byte(word ^ (ONES * u64::from(b'\\')))
            | (word.wrapping_sub(ONES * 0x20) & !word & HIGH);
        if special != 0 {
            break;
        }
        at += 8;
    }
    while let Some(&byte) = bytes.get(at) {
        if byte == b'"' || byte == b'\\' || byte < 0x20 {
            break;
        }
        at += 1;
    }
    at
}

impl Fields {
    /// The next key, with its colon read; `None` after the last field.
    pub fn next<'a>(&mut self, scanner: &mut Scanner<'a>) -> Scanned<Option<Cow<'a, str>>> {
        if !self.more(scanner)? {
            return Ok(None);
        }
        let key = scanner.string()?;
        scanner.eat(b':')?;
        Ok(Some(key))
    }

    /// Like `next`, for a key that is not needed.
    fn skip_key(&mut self, scanner: &mut Scanner) -> Scanned<bool> {
        if !self.more(scanner)? {
            return Ok(false);
        }
        scanner.eat(b'"')?;
        scanner.string_end()?;
        scanner.eat(b':')?;
        Ok(true)
    }

    fn more(&mut self, scanner: &mut Scanner) -> Scanned<bool> {
        scanner.another(&mut self.first, b'}')
    }
}

impl Items {
    /// Whether another item follows (to be read next).
    pub fn next(&mut self, scanner: &mut Scanner) -> Scanned<bool> {
        scanner.another(&mut self.first, b']')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(text: &str) -> Scanned<Value<'_>> {
        let mut scanner = Scanner::new(text);
        let value = scanner.value()?;
        scanner.end()?;
        Ok(value)
    }

    fn skipped(text: &str) -> Scanned<usize> {
        let mut scanner = Scanner::new(text);
        scanner.skip()?;
        scanner.end()?;
        Ok(scanner.deepest())
    }

    #[test]
    fn reads_what_serde_json_reads_and_refuses_what_it_refuses() {
        let texts = [
            r#"{"a": [1, -2, 3.5, 1e3, -0, 0.0, 18446744073709551615, 18446744073709551616, -9223372036854775808, -9223372036854775809]}"#,
            r#" { "s" : "tab\t \u00e9 \ud83d\ude00 \"q\" \\ \/" , "e": {}, "l": [], "n": null, "b": [true, false] } "#,
            r#"{"a": 1, "a": 2}"#,
            "[]",
            "\"x\"",
            "0",
            "{",
            "{}}",
            "[1,]",
            "{\"a\":1,}",
            "{,}",
            "[,1]",
            "01",
            "1.",
            ".5",
            "-",
            "1e",
            "+1",
            "tru",
            "nul",
            "\"\\x\"",
            "\"\\u12G4\"",
            "\"a\u{1}b\"",
            "{\"a\" 1}",
            "{1: 2}",
            "[1 2]",
            "",
            "  ",
            "NaN",
            "\"unterminated",
        ];
        for text in texts {
            let serde = serde_json::from_str::<serde_json::Value>(text);
            match whole(text) {
                Ok(value) => assert_eq!(value, *serde.as_ref().unwrap(), "{text}"),
                Err(error) => {
                    assert_eq!(error, ScanError::Syntax, "{text}");
                    assert!(serde.is_err(), "{text}");
                }
            }
            assert_eq!(skipped(text).is_ok(), serde.is_ok(), "{text}");
        }
    }

    #[test]
    fn skipping_counts_the_nesting_and_stops_at_the_limit() {
        assert_eq!(skipped(r#"{"a": [[{"b": "[[["}]], "c": 1}"#), Ok(4));
        let at_limit = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(skipped(&at_limit), Ok(MAX_DEPTH));
        let over = format!("[{at_limit}]");
        assert_eq!(skipped(&over), Err(ScanError::TooDeep));
        assert_eq!(whole(&over), Err(ScanError::TooDeep));
    }

    #[test]
    fn a_wrong_type_is_told_in_serdes_words_and_skipped() {
        for (text, expected) in [
            ("5", "invalid type: integer `5`, expected a string"),
            ("-5", "invalid type: integer `-5`, expected a string"),
            (
                "1.5",
                "invalid type: floating point `1.5`, expected a string",
            ),
            ("\"80\"", "invalid type: string \"80\", expected a string"),
            ("true", "invalid type: boolean `true`, expected a string"),
            ("[1]", "invalid type: sequence, expected a string"),
            ("{\"a\": 1}", "invalid type: map, expected a string"),
        ] {
            let mut scanner = Scanner::new(text);
            assert_eq!(scanner.wrong_type("a string"), ScanError::Type);
            assert_eq!(scanner.reason(), expected);
            assert_eq!(scanner.end(), Ok(()), "{text}");
            if !text.starts_with('"') {
                let serde = serde_json::from_str::<String>(text)
                    .unwrap_err()
                    .to_string();
                assert!(serde.starts_with(expected), "{serde} / {expected}");
            }
        }
    }

    #[test]
    fn strings_borrow_unless_escaped() {
        let mut scanner = Scanner::new(r#"["plain", "esc\naped"]"#);
        let mut items = scanner.items().unwrap();
        assert!(items.next(&mut scanner).unwrap());
        assert!(matches!(scanner.string(), Ok(Cow::Borrowed("plain"))));
        assert!(items.next(&mut scanner).unwrap());
        assert!(matches!(scanner.string(), Ok(Cow::Owned(text)) if text == "esc\naped"));
        assert!(!items.next(&mut scanner).unwrap());
    }

    #[test]
    fn strings_end_where_serde_json_says_at_any_offset() {
        for length in 0..20 {
            for at in 0..=length {
                for special in ["\"", "\\\\", "\\n", "\\u0041", "\u{1}", "\\", "é"] {
                    let mut text = "a".repeat(length);
                    text.insert_str(at, special);
                    let quoted = format!("\"{text}\"");
                    let serde = serde_json::from_str::<String>(&quoted);
                    let mut scanner = Scanner::new(&quoted);
                    let ours = scanner
                        .string()
                        .and_then(|read| scanner.end().map(|()| read));
                    match (ours, serde) {
                        (Ok(ours), Ok(serde)) => assert_eq!(ours, serde, "{quoted}"),
                        (Err(_), Err(_)) => {}
                        (ours, serde) => panic!("{quoted}: {ours:?} / {serde:?}"),
                    }
                }
            }
        }
    }

    #[test]
    fn find_walks_a_path_and_skips_the_rest() {
        let text = r#"{"a": [1, {"x": 2}], "spec": {"template": {"spec": {"n": 3}}, "z": "q"}}"#;
        assert_eq!(
            find(text, &["spec", "template", "spec"]),
            Ok(Some(r#"{"n": 3}"#))
        );
        assert_eq!(find(text, &["spec", "nothing"]), Ok(None));
        assert_eq!(find(text, &[]), Ok(Some(text)));
        assert_eq!(find(r#"{"spec": null}"#, &["spec", "x"]), Ok(None));
        assert_eq!(find(r#"{"a": 1, "a": 2}"#, &["a"]), Ok(Some("2")));
        assert_eq!(find(r#"{"sp\u0065c": 5}"#, &["spec"]), Ok(Some("5")));
        assert_eq!(
            find(r#"{"spec": "text"}"#, &["spec", "x"]),
            Err(r#"invalid type: string "text", expected an object with the field "x""#.to_owned())
        );
        assert_eq!(
            items(r#"[{"a": 1}, "b" ,null]"#),
            Ok(vec![r#"{"a": 1}"#, r#""b""#, "null"])
        );
    }
}
