//! The largest requests a user can send (`src/large.rs`), through the built
//! module on the native host, with the same 2 s limit per guest call as
//! policy-server. Each test asserts what the answer is, never how long it
//! took; a policy that is slower than linear on them runs out of time and
//! fails here with the host's 500. The time each took is printed.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use secure_pod_defaults_e2e::large::{self, APPARMOR_PREFIX, LargeRequest};
use secure_pod_defaults_e2e::request::request_object;
use secure_pod_defaults_e2e::{Answer, Host, answer_from_response, validate_payload};
use serde_json::{Value, json};

/// The policy, compiled once for the whole test process.
fn host() -> &'static Host {
    secure_pod_defaults_e2e::built_policy()
}

/// The guest's time limit is wall time: one large request at a time, so
/// that these tests do not take each other's CPU.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The answer to one large request, settings first as the host does, with
/// the guest's `validate` call timed apart from the host's JSON work
/// around it (serializing the payload, diffing the mutated object).
fn answer(large: &LargeRequest) -> Answer {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let started = Instant::now();
    let mut instance = host().instantiate().expect("instantiate");
    let settings = instance.validate_settings(&large.settings);
    assert!(settings.valid, "{:?}", settings.message);
    let payload = validate_payload(&large.settings, &large.request);
    let guest_started = Instant::now();
    let response = instance.call_raw("validate", &payload);
    let guest = guest_started.elapsed();
    let answer = match response {
        Ok(bytes) => answer_from_response(request_object(&large.request), &bytes),
        Err(error) => panic!("{}: no answer after {}: {error}", large.name, millis(guest)),
    };
    println!(
        "large: {}: {} bytes, guest {}, with the host's work {}",
        large.name,
        payload.len(),
        millis(guest),
        millis(started.elapsed())
    );
    answer
}

fn millis(duration: Duration) -> String {
    format!("{:.0} ms", duration.as_secs_f64() * 1000.0)
}

/// What every Deployment below is defaulted with at `enabled`.
fn defaulted_security_context() -> Value {
    json!({
        "allowPrivilegeEscalation": false,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": true,
        "seccompProfile": {"type": "RuntimeDefault"},
    })
}

#[test]
fn a_template_change_among_many_labels_is_defaulted() {
    let large = large::deployment_template_label_changed(large::DEPLOYMENT_LABELS);
    let answer = answer(&large);
    assert!(answer.allowed, "{:?}", answer.message);
    assert!(!answer.trapped);
    assert_eq!(
        answer.patch,
        Some(vec![json!({
            "op": "add",
            "path": "/spec/template/spec/containers/0/securityContext",
            "value": defaulted_security_context(),
        })])
    );
    // With its values the line would pass 128 characters: the names alone.
    assert_eq!(
        answer.warnings,
        vec![
            "spec.template.spec.containers[0] \"catalog\": defaulted allowPrivilegeEscalation, seccompProfile, capabilities, runAsNonRoot"
        ]
    );
}

#[test]
fn a_metadata_change_among_many_labels_is_accepted_untouched() {
    let large = large::deployment_metadata_label_changed(large::DEPLOYMENT_LABELS);
    let answer = answer(&large);
    assert!(answer.allowed, "{:?}", answer.message);
    assert!(!answer.trapped);
    assert_eq!(answer.patch, None);
    assert!(answer.warnings.is_empty(), "{:?}", answer.warnings);
}

#[test]
fn one_unconfined_apparmor_annotation_among_many_is_rejected() {
    let large = large::pod_with_apparmor_annotations(large::APPARMOR_ANNOTATIONS);
    let answer = answer(&large);
    assert!(!answer.allowed);
    assert!(!answer.trapped, "{:?}", answer.message);
    assert_eq!(
        answer.message.as_deref(),
        Some(
            format!(
                "1 violation of PodSecurity \"baseline:latest\":\n\
                 - metadata.annotations[{APPARMOR_PREFIX}app] must be runtime/default, \
                 localhost/<profile> or empty (is \"unconfined\")"
            )
            .as_str()
        )
    );
    assert_eq!(answer.patch, None);
}

#[test]
fn a_thousand_containers_get_one_security_context_each_and_eight_warnings() {
    let large = large::pod_with_containers(large::CONTAINERS);
    let answer = answer(&large);
    assert!(answer.allowed, "{:?}", answer.message);
    assert!(!answer.trapped);
    let expected: Vec<Value> = (0..large::CONTAINERS)
        .map(|index| {
            json!({
                "op": "add",
                "path": format!("/spec/containers/{index}/securityContext"),
                "value": defaulted_security_context(),
            })
        })
        .collect();
    let patch = answer.patch.unwrap_or_default();
    assert_eq!(patch.len(), large::CONTAINERS);
    assert_eq!(
        secure_pod_defaults_e2e::cases::patch_difference(&expected, &patch),
        None
    );
    // Seven lines, then one that counts the rest.
    let mut warnings: Vec<String> = (0..7)
        .map(|index| {
            format!(
                "spec.containers[{index}] \"worker-{index}\": defaulted \
                 allowPrivilegeEscalation, seccompProfile, capabilities, runAsNonRoot"
            )
        })
        .collect();
    let rest = large::CONTAINERS - 7;
    warnings.push(format!(
        "and {rest} more: {rest} securityContexts defaulted, 0 containers left insecure"
    ));
    assert_eq!(answer.warnings, warnings);
}
