//! Hostile payloads that cannot be written as YAML cases: huge, deeply
//! nested, not JSON at all. Each must get an answer, never a trap.

use secure_pod_defaults_e2e::Host;
use serde_json::{Value, json};

/// The policy, compiled once for the whole test process.
fn host() -> &'static Host {
    secure_pod_defaults_e2e::built_policy()
}

/// The ValidationResponse for a raw payload; panics if the guest trapped.
fn validate(host: &Host, payload: &[u8]) -> Value {
    let mut instance = host.instantiate().expect("instantiate");
    let answer = instance
        .call_raw("validate", payload)
        .unwrap_or_else(|error| panic!("the policy trapped: {error}"));
    serde_json::from_slice(&answer).expect("the answer is JSON")
}

fn pod_request(spec: Value) -> Value {
    json!({
        "uid": "7f2b1c9e-0000-4000-8000-00000000a001",
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "operation": "CREATE",
        "namespace": "shop",
        "userInfo": {"username": "alice"},
        "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "big", "namespace": "shop"}, "spec": spec},
    })
}

fn payload(settings: Value, request: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"settings": settings, "request": request})).unwrap()
}

#[test]
fn a_one_megabyte_pod_is_defaulted() {
    let host = host();
    let env: Vec<Value> = (0..40)
        .map(|i| json!({"name": format!("SETTING_{i}"), "value": "x".repeat(200)}))
        .collect();
    let containers: Vec<Value> = (0..120)
        .map(|i| json!({"name": format!("worker-{i}"), "image": "registry.example.com/shop/worker:1.0", "env": env}))
        .collect();
    let request = pod_request(json!({"containers": containers}));
    let bytes = payload(
        json!({"secure_pod_defaults": "enabled", "pod_security": "restricted"}),
        request,
    );
    assert!(
        bytes.len() > 1_000_000,
        "the request is {} bytes",
        bytes.len()
    );
    let answer = validate(host, &bytes);
    assert_eq!(answer["accepted"], true, "{}", answer["message"]);
    let mutated = &answer["mutated_object"]["spec"]["containers"];
    assert_eq!(mutated.as_array().unwrap().len(), 120);
    assert_eq!(mutated[119]["securityContext"]["runAsNonRoot"], true);
    assert_eq!(mutated[119]["env"], Value::Array(env));
    assert_eq!(answer["warnings"].as_array().unwrap().len(), 8);
}

/// One instance serves many requests, as a warm policy-server instance
/// does: the memory a large request leaves behind is reused for the next
/// ones, and every answer is the one a fresh instance gives.
#[test]
fn one_instance_answers_large_and_small_requests_alike() {
    let host = host();
    let settings = json!({"secure_pod_defaults": "enabled", "pod_security": "restricted"});
    let sized = |containers: usize, value_length: usize| {
        let env: Vec<Value> = (0..20)
            .map(|i| json!({"name": format!("SETTING_{i}"), "value": "v".repeat(value_length)}))
            .collect();
        let containers: Vec<Value> = (0..containers)
            .map(|i| json!({"name": format!("c-{i}"), "image": "app:1", "env": env}))
            .collect();
        payload(
            settings.clone(),
            pod_request(json!({"containers": containers})),
        )
    };
    let payloads = [
        sized(1, 10),
        sized(80, 300),
        sized(3, 5000),
        sized(200, 40),
        sized(1, 10),
    ];
    let fresh: Vec<Value> = payloads.iter().map(|bytes| validate(host, bytes)).collect();
    let mut instance = host.instantiate().expect("instantiate");
    for round in 0..4 {
        for (bytes, expected) in payloads.iter().zip(&fresh) {
            let answer = instance
                .call_raw("validate", bytes)
                .unwrap_or_else(|error| panic!("the policy trapped: {error}"));
            let answer: Value = serde_json::from_slice(&answer).expect("the answer is JSON");
            assert_eq!(&answer, expected, "round {round}, {} bytes", bytes.len());
        }
    }
    assert_eq!(
        fresh[1]["mutated_object"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .len(),
        80
    );
    assert_eq!(fresh[2]["accepted"], true, "{}", fresh[2]["message"]);
}

/// A field nested ten thousand objects deep.
fn ten_thousand_deep() -> String {
    let mut deep = String::new();
    for _ in 0..10_000 {
        deep.push_str("{\"a\":");
    }
    deep.push('1');
    for _ in 0..10_000 {
        deep.push('}');
    }
    deep
}

/// Past the host's own limit (128 levels on the payload) the host could not
/// have sent it, nor read back an answer carrying it: refused, with a
/// message. Depths the host reads are in `cases/adversarial.yaml`.
#[test]
fn json_nested_ten_thousand_deep_gets_an_answer() {
    // No host sends this: policy-server and kwctl parse every request with
    // serde_json's limit of 128 levels before a policy runs, and an object
    // that passed it also fits in the answer. The policy still answers, with
    // JSON (read here without a depth limit), its edits in place.
    let host = host();
    let deep = ten_thousand_deep();
    let text = format!(
        "{{\"settings\":{{}},\"request\":{{\"kind\":{{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"}},\
         \"operation\":\"CREATE\",\"userInfo\":{{\"username\":\"alice\"}},\
         \"object\":{{\"kind\":\"Pod\",\"spec\":{{\"containers\":[{{\"name\":\"x\",\"future\":{deep}}}]}}}}}}}}"
    );
    let mut instance = host.instantiate().expect("instantiate");
    let answer = instance
        .call_raw("validate", text.as_bytes())
        .unwrap_or_else(|error| panic!("the policy trapped: {error}"));
    serde_json::from_slice::<serde::de::IgnoredAny>(&answer).expect("the answer is JSON");
    let answer = String::from_utf8(answer).expect("UTF-8");
    assert!(
        answer.starts_with(r#"{"accepted":true"#),
        "{}",
        &answer[..80]
    );
    assert!(answer.contains(r#""allowPrivilegeEscalation":false"#));
}

#[test]
fn a_deep_field_the_policy_need_not_change_is_accepted() {
    // The depth limit is the host's, on the answer: an object that is not
    // changed is not written back, however deep a field it does not read.
    let host = host();
    let deep = ten_thousand_deep();
    let text = format!(
        "{{\"settings\":{{\"secure_pod_defaults\":\"disabled\",\"pod_security\":\"baseline\"}},\
         \"request\":{{\"kind\":{{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"}},\"operation\":\"CREATE\",\
         \"userInfo\":{{\"username\":\"alice\"}},\"object\":{{\"kind\":\"Pod\",\"status\":{deep},\"spec\":{{\"containers\":[{{\"name\":\"x\",\"future\":{deep}}}]}}}}}}}}"
    );
    let answer = validate(host, text.as_bytes());
    assert_eq!(answer["accepted"], true, "{}", answer["message"]);
    assert_eq!(answer["mutated_object"], Value::Null);
}

#[test]
fn numbers_in_a_rewritten_security_context_come_back_as_written() {
    // The defaults rewrite this securityContext; its other numbers are not
    // read as floats and written out again, but copied as they came.
    let host = host();
    let text = r#"{"settings":{"secure_pod_defaults":"enabled"},"request":{"kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","userInfo":{"username":"alice"},"object":{"kind":"Pod","spec":{"containers":[{"name":"x","image":"x:1","securityContext":{"ratio":1.50,"big":18446744073709551616,"exp":1E+2,"runAsUser":1000}}]}}}}"#;
    let mut instance = host.instantiate().expect("instantiate");
    let answer = instance
        .call_raw("validate", text.as_bytes())
        .expect("an answer");
    let answer = String::from_utf8(answer).expect("UTF-8");
    assert!(
        answer.contains(r#""ratio":1.50,"big":18446744073709551616,"exp":1E+2,"runAsUser":1000,"#),
        "{answer}"
    );
    let answer: Value = serde_json::from_str(&answer).expect("JSON");
    let written = &answer["mutated_object"]["spec"]["containers"][0]["securityContext"];
    assert_eq!(written["allowPrivilegeEscalation"], false);
}

#[test]
fn payloads_that_are_not_requests_are_refused_with_a_message() {
    let host = host();
    for (payload, expected) in [
        (
            &b""[..],
            "the admission request cannot be read: EOF while parsing",
        ),
        (
            b"not json",
            "the admission request cannot be read: expected ident",
        ),
        (
            b"[1,2,3]",
            "the admission request cannot be read: invalid type: integer `2`, expected an AdmissionRequest object",
        ),
        (
            b"{\"settings\":{}}",
            "the admission request cannot be read: missing field `request`",
        ),
        (
            b"{\"request\":null}",
            "the admission request cannot be read: invalid type: null",
        ),
        (b"\xff\xfe\x00", "the admission request cannot be read: "),
    ] {
        let answer = validate(host, payload);
        assert_eq!(answer["accepted"], false);
        let message = answer["message"].as_str().unwrap();
        assert!(message.starts_with(expected), "{payload:?}: {message}");
    }
}

#[test]
fn any_settings_json_is_answered_with_a_sentence() {
    let host = host();
    let mut instance = host.instantiate().unwrap();
    for settings in [
        &b""[..],
        b"null",
        b"[]",
        b"\"enabled\"",
        b"{\"secure_pod_defaults\": {\"nested\": true}}",
        b"{\"exemptions\": {\"images\": [1, 2]}}",
        b"{\"run_as_user\": 1e40}",
        b"{\"pod_security_version\": \"v1.999\"}",
        b"{\"a\": 1, \"a\": 2}",
    ] {
        let answer = instance
            .call_raw("validate_settings", settings)
            .unwrap_or_else(|error| panic!("{settings:?} trapped: {error}"));
        let answer: Value = serde_json::from_slice(&answer).unwrap();
        let valid = answer["valid"].as_bool().unwrap();
        if settings != b"null" {
            assert!(!valid, "{settings:?} was accepted");
            let message = answer["message"].as_str().unwrap();
            assert!(
                message.len() > 10 && !message.contains("Error("),
                "{message}"
            );
        } else {
            assert!(valid);
        }
    }
}

#[test]
fn settings_that_are_not_valid_inside_a_request_reject_it() {
    let host = host();
    let answer = validate(
        host,
        &payload(
            json!({"secure_pod_defaults": "always"}),
            pod_request(json!({"containers": []})),
        ),
    );
    assert_eq!(answer["accepted"], false);
    assert_eq!(
        answer["message"],
        "the policy settings are not valid: secure_pod_defaults must be \"disabled\", \"root-allowed\" or \"enabled\", not \"always\""
    );
}

/// The policy reads a new object with the request in one pass and finds the
/// object's text from the keys around it; a payload whose keys come in
/// another order, with blanks or escapes around the object, must get the
/// same answer through the wasm.
#[test]
fn key_order_blanks_and_escapes_around_the_object_do_not_change_the_answer() {
    let host = host();
    let object = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"image":"app:1","ports":[{"containerPort":80}]},{"name":"b","image":"b:1","securityContext":{"runAsUser":1000}}]}}"#;
    let kind = r#"{"group":"","version":"v1","kind":"Pod"}"#;
    // The API server names the user of every request it sends.
    let user = r#"{"username":"alice"}"#;
    let settings = r#"{"secure_pod_defaults":"enabled","pod_security":"restricted"}"#;
    let requests = [
        // The order the host writes: kind, then the object, then more keys.
        format!(
            r#"{{"kind":{kind},"userInfo":{user},"object":{object},"oldObject":null,"operation":"CREATE"}}"#
        ),
        // The object last: nothing after it says where it ends.
        format!(r#"{{"operation":"CREATE","userInfo":{user},"kind":{kind},"object":{object}}}"#),
        // The kind after the object.
        format!(r#"{{"object":{object},"operation":"CREATE","kind":{kind},"userInfo":{user}}}"#),
        // Blanks around the object and an escaped key after it.
        format!(
            "{{ \"kind\" : {kind} ,\n \"object\"\t:\r\n{object} \n, \"op\\u0065ration\" : \"CREATE\", \"userInfo\": {user} }}"
        ),
        // The object's own key escaped.
        format!(
            r#"{{"kind":{kind},"userInfo":{user},"obj\u0065ct":{object},"operation":"CREATE"}}"#
        ),
    ];
    let answers: Vec<Value> = requests
        .iter()
        .map(|request| {
            let payload = format!(r#"{{"settings":{settings},"request":{request}}}"#);
            validate(host, payload.as_bytes())
        })
        .collect();
    let first = &answers[0];
    assert_eq!(first["accepted"], true, "{}", first["message"]);
    let containers = &first["mutated_object"]["spec"]["containers"];
    assert_eq!(
        containers[0]["securityContext"]["capabilities"],
        json!({"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]})
    );
    assert_eq!(containers[1]["securityContext"]["runAsUser"], 1000);
    for (request, answer) in requests.iter().zip(&answers) {
        assert_eq!(answer, first, "{request}");
    }
}

/// Refused settings are logged through the host at `warning`, in the event
/// shape of the Kubewarden SDK's log drain; an accepted request logs nothing.
#[test]
fn refused_settings_are_logged_and_requests_are_not() {
    let host = host();
    let mut instance = host.instantiate().unwrap();
    let answer = instance.validate_settings(&json!({"secure_pod_defaults": "on"}));
    assert!(!answer.valid);
    let logs = answer.logs();
    assert_eq!(logs.len(), 1, "{logs:?}");
    let event: Value = serde_json::from_str(logs[0]).expect("the event is JSON");
    assert_eq!(event["level"], "warning");
    assert_eq!(event["message"], "settings refused");
    assert_eq!(event["policy"], "secure-pod-defaults");
    assert_eq!(event["reason"].as_str(), answer.message.as_deref());
    assert!(event["line"].as_u64().is_some() && event["file"].is_string());

    let request = pod_request(json!({"containers": [{"name": "app", "image": "app:1"}]}));
    let answer = host
        .evaluate(&json!({"secure_pod_defaults": "enabled"}), &request)
        .unwrap();
    assert!(answer.allowed && answer.patch.is_some(), "{answer:?}");
    assert!(answer.host_calls.is_empty(), "{:?}", answer.host_calls);
}
