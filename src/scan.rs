//! JSON read by hand, in one pass over the request text: the admission
//! request's few fields and, of its object, what the rules read.
//!
//! Most of an admitted object is skipped, and skipping here is a walk over
//! bytes that checks the syntax and counts the nesting, with no visitor in
//! between. It reads strict JSON only (RFC 8259, as serde_json does), and
//! says what it refuses in serde_json's words, with the line and column.

use crate::value::{Map, Number, Value};
use std::borrow::Cow;

/// The deepest nesting a value is read whole (kept) to, as serde_json's
/// recursion limit. What is skipped may nest deeper.
pub const MAX_DEPTH: usize = 128;

/// Why a text cannot be read. A single byte, so that every result of the
/// scanner fits a register; the words are kept in the scanner
/// ([`Scanner::reason`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanError {
    /// Not JSON.
    Syntax,
    /// A value to keep nests deeper than [`MAX_DEPTH`].
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
    /// Why the last error was returned, e.g. `invalid type: integer `5`,
    /// expected a string` or `expected `,` or `}` at line 1 column 9`.
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

    /// Why the last error was returned.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// A [`ScanError::Type`] for `reason`.
    pub fn type_error(&mut self, reason: String) -> ScanError {
        self.reason = reason;
        ScanError::Type
    }

    /// A [`ScanError::Syntax`] for `what` was found at the position.
    #[cold]
    #[inline(never)]
    fn syntax(&mut self, what: &str) -> ScanError {
        self.reason = format!("{what} at {}", self.place());
        ScanError::Syntax
    }

    /// `line L column C` of the position, as serde_json counts them.
    fn place(&self) -> String {
        let before = &self.text.as_bytes()[..self.at.min(self.text.len())];
        let line_start = before
            .iter()
            .rposition(|&byte| byte == b'\n')
            .map_or(0, |at| at + 1);
        let line = 1 + before.iter().filter(|&&byte| byte == b'\n').count();
        let column = self.at - line_start + usize::from(self.at < self.text.len());
        format!("line {line} column {column}")
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
            Err(self.syntax("trailing characters"))
        }
    }

    #[inline]
    fn skip_blanks(&mut self) {
        let bytes = self.text.as_bytes();
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = bytes.get(self.at) {
            self.at += 1;
        }
    }

    /// The next byte after blanks, if any.
    #[inline]
    fn next_byte(&mut self) -> Option<u8> {
        self.skip_blanks();
        self.text.as_bytes().get(self.at).copied()
    }

    /// The first byte of the next value (after blanks).
    #[inline]
    pub fn peek(&mut self) -> Scanned<u8> {
        match self.next_byte() {
            Some(byte) => Ok(byte),
            None => Err(self.syntax("EOF while parsing a value")),
        }
    }

    fn open(&mut self, bracket: u8) -> Scanned<()> {
        if self.peek()? != bracket {
            return Err(self.syntax("expected value"));
        }
        self.at += 1;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.syntax("recursion limit exceeded");
            return Err(ScanError::TooDeep);
        }
        self.deepest = self.deepest.max(self.depth);
        Ok(())
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

    /// Whether another field or item follows in the object (`object`) or
    /// list being read; read past its end when none does.
    #[inline]
    fn another(&mut self, first: &mut bool, object: bool) -> Scanned<bool> {
        let closing = if object { b'}' } else { b']' };
        let byte = self.next_byte();
        if byte == Some(closing) {
            self.at += 1;
            self.depth -= 1;
            *first = false;
            return Ok(false);
        }
        if std::mem::replace(first, false) {
            return match byte {
                Some(_) => Ok(true),
                None => Err(self.unfinished(object)),
            };
        }
        if byte == Some(b',') {
            self.at += 1;
            if self.next_byte() != Some(closing) {
                return Ok(true);
            }
            return Err(self.syntax("trailing comma"));
        }
        Err(match byte {
            None => self.unfinished(object),
            Some(_) if object => self.syntax("expected `,` or `}`"),
            Some(_) => self.syntax("expected `,` or `]`"),
        })
    }

    /// The text ends inside an object (`object`) or a list.
    #[cold]
    fn unfinished(&mut self, object: bool) -> ScanError {
        self.syntax(if object {
            "EOF while parsing an object"
        } else {
            "EOF while parsing a list"
        })
    }

    /// Reads a key and its colon.
    fn key(&mut self) -> Scanned<Cow<'a, str>> {
        match self.next_byte() {
            Some(b'"') => {}
            Some(_) => return Err(self.syntax("key must be a string")),
            None => return Err(self.syntax("EOF while parsing an object")),
        }
        let key = self.quoted()?;
        self.colon()?;
        Ok(key)
    }

    fn colon(&mut self) -> Scanned<()> {
        match self.next_byte() {
            Some(b':') => {
                self.at += 1;
                Ok(())
            }
            Some(_) => Err(self.syntax("expected `:`")),
            None => Err(self.syntax("EOF while parsing an object")),
        }
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

    #[inline]
    fn literal(&mut self, word: &str) -> Scanned<()> {
        if self.text[self.at..].starts_with(word) {
            self.at += word.len();
            return Ok(());
        }
        // Where it stops matching, as serde_json tells it.
        let rest = &self.text.as_bytes()[self.at..];
        self.at += word.bytes().zip(rest).take_while(|(a, b)| a == *b).count();
        Err(self.syntax(if self.at == self.text.len() {
            "EOF while parsing a value"
        } else {
            "expected ident"
        }))
    }

    /// Reads a string (the next value must be one), borrowed unless it has
    /// escapes.
    pub fn string(&mut self) -> Scanned<Cow<'a, str>> {
        if self.peek()? != b'"' {
            return Err(self.syntax("expected value"));
        }
        self.quoted()
    }

    /// Reads the string whose opening quote is at the position.
    fn quoted(&mut self) -> Scanned<Cow<'a, str>> {
        self.at += 1;
        let start = self.at;
        let escaped = self.string_end()?;
        let text = &self.text[start..self.at - 1];
        if !escaped {
            return Ok(Cow::Borrowed(text));
        }
        match unescape(text) {
            Ok(text) => Ok(Cow::Owned(text)),
            Err((what, offset)) => {
                self.at = start + offset;
                Err(self.syntax(what))
            }
        }
    }

    /// Moves past the closing quote of a string whose opening quote was
    /// read; whether it has escapes.
    fn string_end(&mut self) -> Scanned<bool> {
        let bytes = self.text.as_bytes();
        let mut escaped = false;
        loop {
            self.at = plain_run_end(bytes, self.at);
            let Some(&byte) = bytes.get(self.at) else {
                return Err(self.syntax("EOF while parsing a string"));
            };
            match byte {
                b'"' => {
                    self.at += 1;
                    return Ok(escaped);
                }
                b'\\' => {
                    escaped = true;
                    self.at += 1;
                    match bytes.get(self.at) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.at += 1
                        }
                        Some(b'u')
                            if bytes
                                .get(self.at + 1..self.at + 5)
                                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) =>
                        {
                            self.at += 5
                        }
                        Some(b'u') => {
                            self.at = (self.at + 4).min(bytes.len());
                            return Err(self.syntax("invalid escape"));
                        }
                        Some(_) => return Err(self.syntax("invalid escape")),
                        None => return Err(self.syntax("EOF while parsing a string")),
                    }
                }
                // A control character, which JSON wants escaped.
                _ => {
                    return Err(self.syntax(
                        "control character (\\u0000-\\u001F) found while parsing a string",
                    ));
                }
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
        // Digits must follow at `at`: where they do not, serde_json's words.
        let wanted_digits = |at: &mut usize| -> Result<(), &'static str> {
            match bytes.get(*at) {
                Some(b'0'..=b'9') => {
                    digits(at);
                    Ok(())
                }
                Some(_) => Err("invalid number"),
                None => Err("EOF while parsing a value"),
            }
        };
        let mut valid = match bytes.get(at) {
            Some(b'0') => {
                at += 1;
                match bytes.get(at) {
                    Some(b'0'..=b'9') => Err("invalid number"),
                    _ => Ok(()),
                }
            }
            Some(b'1'..=b'9') => wanted_digits(&mut at),
            Some(_) if at > start => Err("invalid number"),
            Some(_) => Err("expected value"),
            None => Err("EOF while parsing a value"),
        };
        if valid.is_ok() && bytes.get(at) == Some(&b'.') {
            at += 1;
            valid = wanted_digits(&mut at);
        }
        if valid.is_ok() && matches!(bytes.get(at), Some(b'e' | b'E')) {
            at += 1;
            if let Some(b'+' | b'-') = bytes.get(at) {
                at += 1;
            }
            valid = wanted_digits(&mut at);
        }
        if let Err(what) = valid {
            self.at = at;
            return Err(self.syntax(what));
        }
        self.at = at;
        Ok(&self.text[start..at])
    }

    /// Reads a number: whole numbers that fit 64 bits as numbers, as
    /// serde_json reads them, any other as its text.
    fn number(&mut self) -> Scanned<Number<'a>> {
        let text = self.number_text()?;
        if !text.contains(['.', 'e', 'E']) {
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
        Ok(Number::Other(text))
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
            b'"' => Value::String(self.quoted()?),
            b't' => self.literal("true").map(|()| Value::Bool(true))?,
            b'f' => self.literal("false").map(|()| Value::Bool(false))?,
            b'n' => self.literal("null").map(|()| Value::Null)?,
            _ => Value::Number(self.number()?),
        })
    }

    /// Skips any value, checking it, however deep it nests.
    pub fn skip(&mut self) -> Scanned<()> {
        self.skip_nested(0)
    }

    /// Skips a value `levels` deep in the value being skipped: by recursion
    /// while that is shallow (the common case, and the fastest), with an
    /// explicit stack past that.
    fn skip_nested(&mut self, levels: usize) -> Scanned<()> {
        const RECURSION: usize = 32;
        match self.peek()? {
            b'{' | b'[' if levels >= RECURSION => self.skip_deep(),
            byte @ (b'{' | b'[') => {
                let object = self.enter(byte);
                let mut first = true;
                while self.another(&mut first, object)? {
                    if object {
                        self.skip_key()?;
                    }
                    self.skip_nested(levels + 1)?;
                }
                Ok(())
            }
            byte => self.skip_scalar(byte),
        }
    }

    /// Moves into the object or list that `byte` opens at the position;
    /// whether it is an object.
    #[inline]
    fn enter(&mut self, byte: u8) -> bool {
        self.at += 1;
        self.depth += 1;
        self.deepest = self.deepest.max(self.depth);
        byte == b'{'
    }

    /// Skips a value that is neither an object nor a list, starting with
    /// `byte` at the position.
    #[inline]
    fn skip_scalar(&mut self, byte: u8) -> Scanned<()> {
        match byte {
            b'"' => {
                self.at += 1;
                self.string_end().map(|_| ())
            }
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            _ => self.number_text().map(|_| ()),
        }
    }

    /// Skips a value of any depth: the open objects and lists are kept on a
    /// stack of bits, not on the call stack.
    #[inline(never)]
    fn skip_deep(&mut self) -> Scanned<()> {
        let mut open = Brackets::default();
        loop {
            // A value.
            match self.peek()? {
                byte @ (b'{' | b'[') => {
                    let object = self.enter(byte);
                    open.push(object);
                    let mut first = true;
                    if !self.another(&mut first, object)? {
                        open.pop();
                    } else {
                        if object {
                            self.skip_key()?;
                        }
                        continue;
                    }
                }
                byte => self.skip_scalar(byte)?,
            }
            // What follows a value: the next one of the object or list around
            // it, or its end.
            loop {
                let Some(object) = open.last() else {
                    return Ok(());
                };
                let mut first = false;
                if self.another(&mut first, object)? {
                    if object {
                        self.skip_key()?;
                    }
                    break;
                }
                open.pop();
            }
        }
    }

    /// Skips a key and its colon.
    fn skip_key(&mut self) -> Scanned<()> {
        match self.next_byte() {
            Some(b'"') => {}
            Some(_) => return Err(self.syntax("key must be a string")),
            None => return Err(self.syntax("EOF while parsing an object")),
        }
        self.at += 1;
        self.string_end()?;
        self.colon()
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
        let found = match self.peek()? {
            b'"' => return Ok(format!("string {:?}", self.quoted()?)),
            b'{' => "map",
            b'[' => "sequence",
            b't' => "boolean `true`",
            b'f' => "boolean `false`",
            b'n' => "null",
            _ => {
                return Ok(match self.number()? {
                    number @ Number::Other(_) => format!("floating point `{number}`"),
                    number => format!("integer `{number}`"),
                });
            }
        };
        self.skip()?;
        Ok(found.to_owned())
    }
}

/// The open objects (`true`) and lists around a skipped value, one bit each;
/// past 256 levels in a vector.
#[derive(Default)]
struct Brackets {
    bits: [u64; 4],
    len: usize,
    deeper: Vec<bool>,
}

impl Brackets {
    fn push(&mut self, object: bool) {
        if self.len < 256 {
            let (word, bit) = (self.len / 64, self.len % 64);
            self.bits[word] = self.bits[word] & !(1 << bit) | (u64::from(object) << bit);
        } else {
            self.deeper.push(object);
        }
        self.len += 1;
    }

    fn pop(&mut self) {
        if self.len > 256 {
            self.deeper.pop();
        }
        self.len -= 1;
    }

    fn last(&self) -> Option<bool> {
        let top = self.len.checked_sub(1)?;
        if top >= 256 {
            return self.deeper.last().copied();
        }
        Some(self.bits[top / 64] >> (top % 64) & 1 == 1)
    }
}

/// The text of a string with escapes (between its quotes, escapes checked)
/// decoded. A lone UTF-16 surrogate is refused, as serde_json refuses it,
/// with where in `text` it was found.
fn unescape(text: &str) -> Result<String, (&'static str, usize)> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // Where in `text` the rest starts, less one: the last byte read.
    let last_read = |rest: &str| text.len() - rest.len() - 1;
    while let Some(backslash) = rest.find('\\') {
        out.push_str(&rest[..backslash]);
        let escape = rest.as_bytes()[backslash + 1];
        rest = &rest[backslash + 2..];
        let decoded = match escape {
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = hex_unit(rest);
                rest = &rest[4..];
                let code_point = match unit {
                    0xD800..=0xDBFF => {
                        let Some(low) = rest.strip_prefix("\\u") else {
                            return Err(("unexpected end of hex escape", last_read(rest) + 1));
                        };
                        let low_unit = hex_unit(low);
                        rest = &low[4..];
                        if !(0xDC00..=0xDFFF).contains(&low_unit) {
                            return Err(("lone leading surrogate in hex escape", last_read(rest)));
                        }
                        0x10000 + ((unit - 0xD800) << 10) + (low_unit - 0xDC00)
                    }
                    0xDC00..=0xDFFF => {
                        return Err(("lone leading surrogate in hex escape", last_read(rest)));
                    }
                    _ => unit,
                };
                char::from_u32(code_point).ok_or(("invalid unicode code point", last_read(rest)))?
            }
            // `"`, `\\` and `/` stand for themselves.
            other => char::from(other),
        };
        out.push(decoded);
    }
    out.push_str(rest);
    Ok(out)
}

/// The four hex digits (checked while scanning) at the start of `text`.
fn hex_unit(text: &str) -> u32 {
    text.bytes().take(4).fold(0, |unit, digit| {
        unit * 16 + char::from(digit).to_digit(16).unwrap_or(0)
    })
}

/// The text of the value at `path` inside the JSON `text`, every other field
/// skipped; `None` when a key on the path is missing or `null`. Of a
/// repeated key the last counts, as in Go's decoder. What cannot be read is
/// told in one phrase.
pub fn find<'a>(text: &'a str, path: &[&str]) -> Result<Option<&'a str>, String> {
    let mut scanner = Scanner::new(text);
    let found = find_in(&mut scanner, path).and_then(|found| scanner.end().map(|()| found));
    found.map_err(|_| scanner.reason)
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
        if !scanner.another(&mut self.first, true)? {
            return Ok(None);
        }
        scanner.key().map(Some)
    }
}

impl Items {
    /// Whether another item follows (to be read next).
    pub fn next(&mut self, scanner: &mut Scanner) -> Scanned<bool> {
        scanner.another(&mut self.first, false)
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
    fn skipping_counts_any_nesting_and_keeping_stops_at_the_limit() {
        assert_eq!(skipped(r#"{"a": [[{"b": "[[["}]], "c": 1}"#), Ok(4));
        let at_limit = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(skipped(&at_limit), Ok(MAX_DEPTH));
        assert!(whole(&at_limit).is_ok());
        let over = format!("[{at_limit}]");
        assert_eq!(whole(&over), Err(ScanError::TooDeep));
        let deep = format!("{}1{}", "{\"a\":[".repeat(5000), "]}".repeat(5000));
        assert_eq!(skipped(&deep), Ok(10_000));
        assert_eq!(
            skipped(&deep[..deep.len() - 1]).unwrap_err(),
            ScanError::Syntax
        );
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

    #[test]
    fn what_is_not_json_is_told_in_serde_jsons_words() {
        for text in [
            "",
            " ",
            "{",
            "[",
            "{\"a\"",
            "{\"a\":",
            "{\"a\":1",
            "[1",
            "[1,",
            "\"abc",
            "tru",
            "nul",
            "x",
            "{1:2}",
            "{\"a\" 1}",
            "{\"a\":1 \"b\":2}",
            "[1 2]",
            "[1,]",
            "{\"a\":1,}",
            "01",
            "-",
            "1.",
            "1e",
            "1.5e+",
            "\"\\x\"",
            "\"\\u12G4\"",
            "\"a\u{1}b\"",
            "{} x",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"\\ud800\\u0041\"",
            "\n\n  [1,\n 2,,]",
            "trux",
            "-x",
        ] {
            let serde = serde_json::from_str::<serde_json::Value>(text)
                .unwrap_err()
                .to_string();
            let mut scanner = Scanner::new(text);
            let read = scanner.value().and_then(|_| scanner.end());
            assert_eq!(read, Err(ScanError::Syntax), "{text:?}");
            assert_eq!(scanner.reason(), serde, "{text:?}");
        }
    }
}
