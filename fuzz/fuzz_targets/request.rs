//! Any bytes as the waPC `validate` payload: the policy answers (never
//! panics), its answer is JSON, and a mutated object it returns is valid
//! JSON that defaulting leaves unchanged the second time.
#![no_main]

use libfuzzer_sys::fuzz_target;
use secure_pod_defaults::admission::evaluate;
use serde_json::Value;

fuzz_target!(|payload: &[u8]| {
    let response = evaluate(payload);
    let answer: Value = serde_json::from_slice(&response.to_json()).expect("the answer is JSON");
    assert!(answer["accepted"].is_boolean());
    let Some(mutated) = response.mutated_object else {
        return;
    };
    let mutated: Value = serde_json::from_str(&mutated).expect("the mutated object is JSON");
    // Fields the policy skips are not checked for valid UTF-8 (as serde_json
    // skips them), so the payload as a whole may not parse here.
    let Ok(mut request) = serde_json::from_slice::<Value>(payload) else {
        return;
    };
    request["request"]["object"] = mutated;
    let again = evaluate(&serde_json::to_vec(&request).unwrap());
    assert!(again.mutated_object.is_none(), "defaulting is not idempotent");
});
