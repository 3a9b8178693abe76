//! Any bytes as the waPC `validate` payload: the policy answers, never
//! panics. For a payload the host could have sent (it parses every request
//! as JSON before calling the policy), the answer is JSON, and a mutated
//! object in it is JSON that defaulting leaves unchanged the second time.
#![no_main]

use libfuzzer_sys::fuzz_target;
use secure_pod_defaults::admission::evaluate;
use secure_pod_defaults::carriers::carrier;
use secure_pod_defaults::request::{TemplatePath, read};
use secure_pod_defaults::scan::Scanner;
use serde::de::IgnoredAny;
use serde_json::Value;

fuzz_target!(|payload: &[u8]| {
    // The scanner takes for JSON exactly what serde_json takes for JSON.
    if let Ok(text) = std::str::from_utf8(payload) {
        let mut scanner = Scanner::new(text);
        let ours = scanner.skip().and_then(|()| scanner.end()).is_ok();
        let theirs = serde_json::from_str::<IgnoredAny>(text).is_ok();
        assert_eq!(ours, theirs, "{}", scanner.reason());
    }
    let template_path: TemplatePath = |group, kind| carrier(group, kind).map(|c| c.template_path);
    if read(payload, Some(template_path)).is_ok() {
        assert!(serde_json::from_slice::<IgnoredAny>(payload).is_ok());
    }
    let response = evaluate(payload);
    let answer = response.to_json();
    // The host refuses what serde_json cannot read (invalid UTF-8, numbers
    // out of range) before any policy runs; the policy skips such parts of
    // a request unread, so its answer could carry them back.
    let Ok(mut request) = serde_json::from_slice::<Value>(payload) else {
        return;
    };
    let answer: Value = serde_json::from_slice(&answer).expect("the answer is JSON");
    assert!(answer["accepted"].is_boolean());
    let Some(mutated) = response.mutated_object else {
        return;
    };
    let mutated: Value = serde_json::from_str(&mutated).expect("the mutated object is JSON");
    request["request"]["object"] = mutated;
    let again = evaluate(&serde_json::to_vec(&request).unwrap());
    assert!(again.mutated_object.is_none(), "defaulting is not idempotent");
});
