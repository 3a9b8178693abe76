//! Log events for the host, in the shape the Kubewarden SDK's slog drain
//! writes them (the event's fields, then `level`, `message`, `line`,
//! `column` and `file`), sent with the same waPC host call
//! (`kubewarden/tracing/log`). Written by hand: a logging framework would
//! add a fifth to the module's size and its cost to every request.

use std::fmt::Write;
use std::panic::Location;

/// What every event says about where it comes from.
const POLICY: (&str, &str) = ("policy", "secure-pod-defaults");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Debug,
    Warning,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Warning => "warning",
        }
    }
}

/// Sends one event with `fields` (key and text) to the host.
#[track_caller]
pub fn log(level: Level, message: &str, fields: &[(&str, &str)]) {
    send(event(level, message, fields, Location::caller()).as_bytes());
}

/// The event as JSON text.
fn event(level: Level, message: &str, fields: &[(&str, &str)], at: &Location) -> String {
    let mut text = String::with_capacity(160 + message.len());
    text.push('{');
    for (key, value) in fields.iter().chain([&POLICY]) {
        write_string(&mut text, key);
        text.push(':');
        write_string(&mut text, value);
        text.push(',');
    }
    text.push_str("\"level\":\"");
    text.push_str(level.name());
    text.push_str("\",\"message\":");
    write_string(&mut text, message);
    let _ = write!(
        text,
        ",\"line\":{},\"column\":{},\"file\":",
        at.line(),
        at.column()
    );
    write_string(&mut text, at.file());
    text.push('}');
    text
}

#[cfg(target_arch = "wasm32")]
fn send(event: &[u8]) {
    // A host that does not take logs is no reason to fail a request.
    let _ = kubewarden_policy_sdk::wapc_guest::host_call("kubewarden", "tracing", "log", event);
}

/// Native builds (the unit tests, the fuzzer) have no host to log to.
#[cfg(not(target_arch = "wasm32"))]
fn send(_event: &[u8]) {}

fn write_string(out: &mut String, text: &str) {
    out.push_str(&serde_json::to_string(text).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn an_event_has_the_fields_the_sdk_drain_writes() {
        let text = event(
            Level::Debug,
            "request \"rejected\"",
            &[("reason", "spec.containers[0] must…")],
            Location::caller(),
        );
        let event: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(event["level"], "debug");
        assert_eq!(event["message"], "request \"rejected\"");
        assert_eq!(event["policy"], "secure-pod-defaults");
        assert!(event["line"].as_u64().unwrap() > 0);
        assert!(event["column"].as_u64().unwrap() > 0);
        assert_eq!(event["file"], json!(file!()));
        assert_eq!(
            event.as_object().unwrap().len(),
            7,
            "reason, policy, level, message, line, column, file: {event}"
        );
    }
}
