//! Capabilities (restricted): every container must drop `ALL` and may add
//! back only `NET_BIND_SERVICE`. Mirrors PSA's
//! `check_capabilities_restricted.go` (restricted, v1.22; v1.25 exempts pods
//! with `spec.os.name: windows`), overriding `capabilities_baseline`.
//!
//! PSA compares capability names exactly: `drop: [all]` does not count as
//! dropping `ALL` (container runtimes would accept it), so the message says
//! so when that is the cause.

use super::capabilities_baseline;
use super::pod::show_list;
use super::{Check, PssLevel, PssVersion, VersionedCheck};
use crate::podspec::{Container, Pod};
use crate::violation::Violation;

const CONTROL: &str = "Capabilities";

pub(super) const CHECK: Check = Check {
    id: "capabilities_restricted",
    control: CONTROL,
    level: PssLevel::Restricted,
    versions: &[
        VersionedCheck::overriding(
            PssVersion::v1(22),
            &[capabilities_baseline::ID],
            capabilities_restricted_1_22,
        ),
        VersionedCheck::overriding(
            PssVersion::v1(25),
            &[capabilities_baseline::ID],
            capabilities_restricted_1_25,
        ),
    ],
};

fn capabilities_restricted_1_22(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    for container in &pod.containers {
        check_container(container, violations);
    }
}

fn capabilities_restricted_1_25(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    if !pod.is_windows() {
        capabilities_restricted_1_22(pod, violations);
    }
}

fn check_container(container: &Container<'_>, violations: &mut Vec<Violation>) {
    let capabilities = container
        .security_context
        .as_ref()
        .and_then(|sc| sc.capabilities.as_ref());
    let drop_problem = match capabilities.and_then(|capabilities| capabilities.drop.as_ref()) {
        Some(dropped) if dropped.iter().any(|name| name == "ALL") => None,
        Some(dropped) => Some(with_case_hint(show_list(dropped), dropped)),
        None => Some("unset".to_owned()),
    };
    if let Some(actual) = drop_problem {
        violations.push(container.violation(
            "securityContext.capabilities.drop",
            "a list that includes ALL",
            actual,
            CONTROL,
        ));
    }
    let added = capabilities.and_then(|capabilities| capabilities.add.as_ref());
    for (index, capability) in added.into_iter().flatten().enumerate() {
        if capability != "NET_BIND_SERVICE" {
            violations.push(container.violation(
                &format!("securityContext.capabilities.add[{index}]"),
                "NET_BIND_SERVICE or removed",
                capability.clone(),
                CONTROL,
            ));
        }
    }
}

/// Adds a hint when a name is `ALL` in another case, which PSA does not
/// accept.
pub(super) fn with_case_hint(shown: String, names: &[String]) -> String {
    let other_case = names
        .iter()
        .any(|name| name != "ALL" && name.eq_ignore_ascii_case("all"));
    if other_case {
        format!("{shown}; capability names are case-sensitive here, write ALL")
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{at, paths, restricted, restricted_pod};
    use super::super::{PssLevel, PssVersion};
    use serde_json::json;

    #[test]
    fn drop_all_is_required_and_only_net_bind_service_may_be_added() {
        let mut spec = restricted_pod();
        spec["containers"][0]["securityContext"]["capabilities"] =
            json!({"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]});
        assert!(restricted(&spec).is_empty());

        spec["containers"][0]["securityContext"]["capabilities"] =
            json!({"drop": ["NET_RAW"], "add": ["NET_BIND_SERVICE", "CHOWN"]});
        let found = restricted(&spec);
        assert_eq!(
            paths(&found),
            [
                "spec.containers[0].securityContext.capabilities.add[1]",
                "spec.containers[0].securityContext.capabilities.drop",
            ]
        );
        assert_eq!(found[1].actual, "[NET_RAW]");
        // CHOWN would pass baseline: capabilities_restricted overrides it.
        assert!(
            found
                .iter()
                .all(|v| !v.expected.starts_with("a default capability"))
        );
    }

    #[test]
    fn lower_case_all_does_not_count_and_the_message_says_why() {
        let mut spec = restricted_pod();
        spec["containers"][0]["securityContext"]["capabilities"] = json!({"drop": ["all"]});
        let found = restricted(&spec);
        assert_eq!(
            found[0].to_string(),
            "spec.containers[0] \"app\": securityContext.capabilities.drop must be a list that includes ALL (is [all]; capability names are case-sensitive here, write ALL)"
        );
    }

    #[test]
    fn missing_capabilities_fail_and_the_check_starts_at_1_22() {
        let mut spec = restricted_pod();
        spec["containers"][0]["securityContext"]
            .as_object_mut()
            .unwrap()
            .remove("capabilities");
        assert_eq!(restricted(&spec)[0].actual, "unset");
        assert!(at(PssLevel::Restricted, PssVersion::v1(21), &spec).is_empty());
        assert_eq!(at(PssLevel::Restricted, PssVersion::v1(22), &spec).len(), 1);
    }

    #[test]
    fn windows_pods_are_exempt_from_1_25() {
        let mut spec = restricted_pod();
        spec["os"] = json!({"name": "windows"});
        spec["securityContext"]
            .as_object_mut()
            .unwrap()
            .remove("seccompProfile");
        spec["containers"][0]["securityContext"] = json!({});
        assert!(at(PssLevel::Restricted, PssVersion::v1(25), &spec).is_empty());
        assert_eq!(at(PssLevel::Restricted, PssVersion::v1(24), &spec).len(), 3);
    }
}
