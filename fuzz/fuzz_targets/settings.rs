//! Any bytes as settings: accepted, or refused with a sentence; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use secure_pod_defaults::settings::Settings;

fuzz_target!(|text: &[u8]| {
    if let Err(message) = Settings::from_json(text) {
        assert!(!message.is_empty());
    }
});
