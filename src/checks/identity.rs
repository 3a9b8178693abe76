//! The fixed-identity profile (seed 003, a platform's "restricted pod
//! settings"): every pod runs as one configured UID and GID, and, when
//! `strict_capabilities` is on, every container drops exactly `ALL` and adds
//! nothing. Fields left unset pass: the profile only rejects values set
//! wrongly.
//!
//! Capability names are compared exactly, as PSA does: `drop: [all]` does
//! not satisfy the profile even though container runtimes accept any case,
//! and the message says so.

use super::capabilities_restricted::with_case_hint;
use super::pod::show_list;
use crate::podspec::Pod;
use crate::violation::{Violation, sort_and_dedup};
use k8s_openapi::api::core::v1::SecurityContext;

/// The `control` of every fixed-identity violation.
pub const IDENTITY_CONTROL: &str = "Fixed Identity";

/// Checks a pod spec against the fixed-identity profile and returns every
/// violation, sorted:
/// - with `run_as_user` set, any explicit `runAsUser` (pod or container)
///   other than it; likewise `run_as_group` for `runAsGroup`;
/// - with `strict_capabilities`, every container of a non-Windows pod whose
///   `capabilities.add` is not empty or whose `capabilities.drop` is not
///   exactly `[ALL]` (unset counts as not `[ALL]`).
pub fn check_identity(
    run_as_user: Option<i64>,
    run_as_group: Option<i64>,
    strict_capabilities: bool,
    pod: &Pod,
) -> Vec<Violation> {
    let mut violations = Vec::new();
    let pod_context = pod.security_context.as_ref();
    let ids: [(&str, Option<i64>, Option<i64>, IdOf); 2] = [
        (
            "runAsUser",
            run_as_user,
            pod_context.and_then(|sc| sc.run_as_user),
            |sc| sc.run_as_user,
        ),
        (
            "runAsGroup",
            run_as_group,
            pod_context.and_then(|sc| sc.run_as_group),
            |sc| sc.run_as_group,
        ),
    ];
    for (key, wanted, pod_id, container_id) in ids {
        let Some(wanted) = wanted else { continue };
        let field = format!("securityContext.{key}");
        let expected = format!("{wanted} or unset");
        if let Some(actual) = other_id(pod_id, wanted) {
            violations.push(pod.violation(&field, &expected, actual, IDENTITY_CONTROL));
        }
        for container in &pod.containers {
            let id = container.security_context.as_ref().and_then(container_id);
            if let Some(actual) = other_id(id, wanted) {
                violations.push(container.violation(&field, &expected, actual, IDENTITY_CONTROL));
            }
        }
    }
    if strict_capabilities && !pod.is_windows() {
        for container in &pod.containers {
            let capabilities = container
                .security_context
                .as_ref()
                .and_then(|sc| sc.capabilities.as_ref());
            let added = capabilities.and_then(|capabilities| capabilities.add.as_ref());
            if let Some(added) = added.filter(|added| !added.is_empty()) {
                violations.push(container.violation(
                    "securityContext.capabilities.add",
                    "empty or unset",
                    show_list(added),
                    IDENTITY_CONTROL,
                ));
            }
            let drop_problem =
                match capabilities.and_then(|capabilities| capabilities.drop.as_ref()) {
                    Some(dropped) if dropped.len() == 1 && dropped[0] == "ALL" => None,
                    Some(dropped) => Some(with_case_hint(show_list(dropped), dropped)),
                    None => Some("unset".to_owned()),
                };
            if let Some(actual) = drop_problem {
                violations.push(container.violation(
                    "securityContext.capabilities.drop",
                    "[ALL]",
                    actual,
                    IDENTITY_CONTROL,
                ));
            }
        }
    }
    sort_and_dedup(&mut violations);
    violations
}

/// Reads one id of a container's securityContext.
type IdOf = fn(&SecurityContext) -> Option<i64>;

/// What was found when an explicit id differs from `wanted`.
fn other_id(id: Option<i64>, wanted: i64) -> Option<String> {
    id.filter(|&id| id != wanted).map(|id| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::tests::reading;
    use super::*;
    use serde_json::{Value, json};

    fn identity(spec: &Value, strict: bool) -> Vec<Violation> {
        reading(
            &Value::Null,
            spec,
            "spec.template.spec",
            "spec.template.metadata",
            |pod| check_identity(Some(65534), Some(65534), strict, pod),
        )
    }

    #[test]
    fn unset_or_matching_ids_pass_and_others_fail() {
        let passing = json!({"securityContext": {"runAsUser": 65534},
            "containers": [{"name": "app", "securityContext": {"runAsGroup": 65534}}, {"name": "plain"}]});
        assert!(identity(&passing, false).is_empty());

        let failing = json!({"securityContext": {"runAsUser": 0, "runAsGroup": 65534},
            "initContainers": [{"name": "setup", "securityContext": {"runAsGroup": 0}}],
            "containers": [{"name": "app", "securityContext": {"runAsUser": 1000}}]});
        let found = identity(&failing, false);
        let shown: Vec<String> = found.iter().map(Violation::to_string).collect();
        assert_eq!(
            shown,
            [
                "spec.template.spec.containers[0] \"app\": securityContext.runAsUser must be 65534 or unset (is 1000)",
                "spec.template.spec.initContainers[0] \"setup\": securityContext.runAsGroup must be 65534 or unset (is 0)",
                "spec.template.spec.securityContext.runAsUser must be 65534 or unset (is 0)",
            ]
        );
        assert!(found.iter().all(|v| v.control == IDENTITY_CONTROL));
        // Nothing configured, nothing checked.
        assert!(
            reading(&Value::Null, &failing, "spec", "metadata", |pod| {
                check_identity(None, None, false, pod)
            })
            .is_empty()
        );
    }

    #[test]
    fn strict_capabilities_need_exactly_drop_all_and_no_add() {
        let passing = json!({"containers": [{"name": "app", "securityContext": {
            "capabilities": {"drop": ["ALL"], "add": []}}}]});
        assert!(identity(&passing, true).is_empty());

        let failing = json!({"containers": [
            {"name": "app", "securityContext": {"capabilities": {"drop": ["ALL", "NET_RAW"], "add": ["NET_BIND_SERVICE"]}}},
            {"name": "lower", "securityContext": {"capabilities": {"drop": ["all"]}}},
            {"name": "bare"}]});
        let shown: Vec<String> = identity(&failing, true)
            .iter()
            .map(Violation::to_string)
            .collect();
        assert_eq!(
            shown,
            [
                "spec.template.spec.containers[0] \"app\": securityContext.capabilities.add must be empty or unset (is [NET_BIND_SERVICE])",
                "spec.template.spec.containers[0] \"app\": securityContext.capabilities.drop must be [ALL] (is [ALL, NET_RAW])",
                "spec.template.spec.containers[1] \"lower\": securityContext.capabilities.drop must be [ALL] (is [all]; capability names are case-sensitive here, write ALL)",
                "spec.template.spec.containers[2] \"bare\": securityContext.capabilities.drop must be [ALL] (is unset)",
            ]
        );
        assert!(identity(&failing, false).is_empty());
    }

    #[test]
    fn windows_pods_have_no_linux_capabilities_to_check() {
        let windows = json!({"os": {"name": "windows"}, "containers": [{"name": "iis"}]});
        assert!(identity(&windows, true).is_empty());
    }
}
