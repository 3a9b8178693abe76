//! Any bytes as the waPC `validate` payload: the policy answers, never
//! panics. For a payload the host could have sent (it parses every request
//! as JSON before calling the policy), the answer is JSON, and a mutated
//! object in it is JSON that defaulting leaves unchanged the second time.
#![no_main]

use libfuzzer_sys::fuzz_target;
use secure_pod_defaults::admission::evaluate;
use serde_json::Value;

fuzz_target!(|payload: &[u8]| {
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
