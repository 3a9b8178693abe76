//! The host against tiny hand-written waPC guests (WebAssembly text), so the
//! engine wiring is tested without building a policy.

use serde_json::{Value, json};

use crate::Host;

/// Where the guest's constant strings live in its memory.
const LOG_LINE: &str = r#"{"level":"info","msg":"evaluating"}"#;
const SETTINGS_AT: u32 = 8192;
const RESPONSE_AT: u32 = 16384;
/// The request is copied above the constants.
const REQUEST_AT: u32 = 65536;

/// What the guest's `validate` does after logging one line.
enum Validate<'a> {
    Respond(&'a Value),
    Trap,
    Loop,
    Fail(&'a str),
    CallOci,
}

/// A waPC guest: `validate_settings` answers `settings_answer`, `validate`
/// logs one line through the host and then does `validate`.
fn guest(settings_answer: &Value, validate: Validate) -> Host {
    let settings = settings_answer.to_string();
    let (validate_data, validate_body) = match validate {
        Validate::Respond(response) => {
            let response = response.to_string();
            (
                response.clone(),
                format!(
                    "(call $guest_response (i32.const {RESPONSE_AT}) (i32.const {})) (i32.const 1)",
                    response.len()
                ),
            )
        }
        Validate::Trap => (String::new(), "unreachable".to_string()),
        Validate::Loop => (
            String::new(),
            "(loop $spin (br $spin)) (i32.const 0)".to_string(),
        ),
        Validate::Fail(message) => (
            message.to_string(),
            format!(
                "(call $guest_error (i32.const {RESPONSE_AT}) (i32.const {})) (i32.const 0)",
                message.len()
            ),
        ),
        Validate::CallOci => (
            "oci".to_string(),
            format!(
                "(if (i32.eqz (call $host_call (i32.const 4096) (i32.const 10) \
                 (i32.const {RESPONSE_AT}) (i32.const 3) (i32.const 4128) (i32.const 3) \
                 (i32.const 4144) (i32.const 2))) (then unreachable)) (i32.const 0)"
            ),
        ),
    };
    let wat = format!(
        r#"(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (import "wapc" "__guest_error" (func $guest_error (param i32 i32)))
  (import "wapc" "__host_call" (func $host_call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 4)
  (data (i32.const 4096) "kubewarden")
  (data (i32.const 4112) "tracing")
  (data (i32.const 4128) "log")
  (data (i32.const 4144) "{log}")
  (data (i32.const {SETTINGS_AT}) "{settings_data}")
  (data (i32.const {RESPONSE_AT}) "{validate_data}")
  (func (export "__guest_call") (param $op_len i32) (param $msg_len i32) (result i32)
    (call $guest_request (i32.const 0) (i32.const {REQUEST_AT}))
    ;; "validate_settings" is the only operation 17 bytes long
    (if (i32.eq (local.get $op_len) (i32.const 17))
      (then
        (call $guest_response (i32.const {SETTINGS_AT}) (i32.const {settings_len}))
        (return (i32.const 1))))
    (drop (call $host_call (i32.const 4096) (i32.const 10) (i32.const 4112) (i32.const 7)
      (i32.const 4128) (i32.const 3) (i32.const 4144) (i32.const {log_len})))
    {validate_body}))
"#,
        log = wat_string(LOG_LINE),
        log_len = LOG_LINE.len(),
        settings_data = wat_string(&settings),
        settings_len = settings.len(),
        validate_data = wat_string(&validate_data),
    );
    Host::from_bytes(wat.as_bytes()).expect("the test guest compiles")
}

/// Escapes text for a WebAssembly text data segment.
fn wat_string(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'"' | b'\\' => format!("\\{b:02x}"),
            0x20..=0x7e => (b as char).to_string(),
            _ => format!("\\{b:02x}"),
        })
        .collect()
}

fn valid() -> Value {
    json!({"valid": true, "message": null})
}

fn pod_request() -> Value {
    crate::complete_request(&json!({
        "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                   "spec": {"containers": [{"name": "c", "image": "i"}]}}
    }))
    .unwrap()
}

#[test]
fn mutation_is_answered_with_a_patch_and_logs_are_collected() {
    let mut mutated = pod_request()["object"].clone();
    mutated["spec"]["containers"][0]["securityContext"] = json!({"runAsNonRoot": true});
    let host = guest(
        &valid(),
        Validate::Respond(&json!({"accepted": true, "message": null, "code": null,
            "mutated_object": mutated, "audit_annotations": null, "warnings": ["defaulted"]})),
    );
    let answer = host.evaluate(&json!({}), &pod_request()).unwrap();
    assert!(answer.allowed);
    assert!(!answer.trapped);
    assert_eq!(
        answer.patch,
        Some(vec![
            json!({"op": "add", "path": "/spec/containers/0/securityContext",
                          "value": {"runAsNonRoot": true}})
        ])
    );
    assert_eq!(answer.warnings, vec!["defaulted"]);
    assert_eq!(answer.logs(), vec![LOG_LINE]);
}

#[test]
fn a_warm_instance_answers_repeatedly() {
    let host = guest(&valid(), Validate::Respond(&json!({"accepted": true})));
    let mut instance = host.instantiate().unwrap();
    for _ in 0..3 {
        let answer = instance.validate(&json!({}), &pod_request());
        assert!(answer.allowed);
        assert_eq!(answer.logs().len(), 1);
    }
}

#[test]
fn refused_settings_stop_the_evaluation() {
    let host = guest(
        &json!({"valid": false, "message": "unknown setting \"x\""}),
        Validate::Trap,
    );
    let settings = host.validate_settings(&json!({"x": 1})).unwrap();
    assert!(!settings.valid);
    assert!(!settings.trapped);
    let answer = host.evaluate(&json!({"x": 1}), &pod_request()).unwrap();
    assert!(!answer.allowed);
    assert!(!answer.trapped, "validate must not have run");
    assert_eq!(
        answer.settings_error.as_deref(),
        Some("unknown setting \"x\"")
    );
    assert_eq!(
        answer.message.as_deref(),
        Some("Provided settings are not valid: unknown setting \"x\"")
    );
}

#[test]
fn a_trap_fails_closed_with_500() {
    let host = guest(&valid(), Validate::Trap);
    let answer = host.evaluate(&json!({}), &pod_request()).unwrap();
    assert!(!answer.allowed);
    assert!(answer.trapped);
    assert_eq!(answer.code, Some(500));
    assert!(
        answer
            .message
            .as_deref()
            .unwrap()
            .starts_with("internal server error: "),
        "{answer:?}"
    );
}

#[test]
fn a_guest_error_fails_closed_with_500() {
    let host = guest(&valid(), Validate::Fail("cannot parse request"));
    let answer = host.evaluate(&json!({}), &pod_request()).unwrap();
    assert!(!answer.allowed);
    assert!(answer.trapped);
    assert_eq!(answer.code, Some(500));
    assert!(answer.message.unwrap().contains("cannot parse request"));
}

#[test]
fn an_endless_policy_is_interrupted() {
    let host = guest(&valid(), Validate::Loop);
    let answer = host.evaluate(&json!({}), &pod_request()).unwrap();
    assert!(answer.trapped);
    assert_eq!(answer.code, Some(500));
    assert_eq!(
        answer.message.as_deref(),
        Some(
            "internal server error: Policy execution interrupted because it exceeded the allowed execution time"
        )
    );
}

#[test]
fn host_calls_other_than_logging_are_refused() {
    let host = guest(&valid(), Validate::CallOci);
    let answer = host.evaluate(&json!({}), &pod_request()).unwrap();
    // The guest traps when its host call is refused.
    assert!(answer.trapped);
    // Both calls are recorded, the refused one too.
    let calls: Vec<(String, bool)> = answer
        .host_calls
        .iter()
        .map(|call| (call.capability(), call.refused))
        .collect();
    assert_eq!(
        calls,
        vec![
            ("kubewarden/tracing/log".to_string(), false),
            ("kubewarden/oci/log".to_string(), true)
        ]
    );
}
