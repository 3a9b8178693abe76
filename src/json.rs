//! JSON string quoting for the warnings' and audit annotation's writers.

/// Appends `text` as a JSON string.
pub fn write_string(out: &mut String, text: &str) {
    out.push_str(&serde_json::to_string(text).unwrap_or_default());
}
