//! Privilege Escalation: every container must set
//! `securityContext.allowPrivilegeEscalation: false` (unset means allowed).
//! Mirrors PSA's `check_allowPrivilegeEscalation.go` (restricted, v1.8;
//! v1.25 exempts pods with `spec.os.name: windows`).

use super::{Check, PssLevel, PssVersion, VersionedCheck};
use crate::podspec::Pod;
use crate::violation::Violation;

const CONTROL: &str = "Privilege Escalation";

pub(super) const CHECK: Check = Check {
    id: "allowPrivilegeEscalation",
    control: CONTROL,
    level: PssLevel::Restricted,
    versions: &[
        VersionedCheck::new(PssVersion::v1(8), allow_privilege_escalation_1_8),
        VersionedCheck::new(PssVersion::v1(25), allow_privilege_escalation_1_25),
    ],
};

fn allow_privilege_escalation_1_8(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    for container in &pod.containers {
        let security_context = container.security_context.as_ref();
        let actual = match security_context.and_then(|sc| sc.allow_privilege_escalation) {
            Some(false) => continue,
            Some(true) => "true",
            None => "unset",
        };
        violations.push(container.violation(
            "securityContext.allowPrivilegeEscalation",
            "false",
            actual.to_owned(),
            CONTROL,
        ));
    }
}

fn allow_privilege_escalation_1_25(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    if !pod.is_windows() {
        allow_privilege_escalation_1_8(pod, violations);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{at, paths, restricted, restricted_pod};
    use super::super::{PssLevel, PssVersion};
    use serde_json::json;

    #[test]
    fn privilege_escalation_must_be_explicitly_false() {
        assert!(restricted(&restricted_pod()).is_empty());

        let mut spec = restricted_pod();
        spec["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = json!(true);
        spec["containers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "sidecar",
            "securityContext": {"capabilities": {"drop": ["ALL"]}}}));
        let found = restricted(&spec);
        assert_eq!(
            paths(&found),
            [
                "spec.containers[0].securityContext.allowPrivilegeEscalation",
                "spec.containers[1].securityContext.allowPrivilegeEscalation",
            ]
        );
        assert_eq!(
            found[1].to_string(),
            "spec.containers[1] \"sidecar\": securityContext.allowPrivilegeEscalation must be false (is unset)"
        );
        // Not a restricted rule before 1.8, nor a baseline one.
        assert!(at(PssLevel::Restricted, PssVersion::v1(7), &spec).is_empty());
        assert!(at(PssLevel::Baseline, PssVersion::LATEST, &spec).is_empty());
    }

    #[test]
    fn windows_pods_are_exempt_from_1_25() {
        let spec = json!({"os": {"name": "windows"}, "securityContext": {"runAsNonRoot": true},
            "containers": [{"name": "iis"}]});
        assert!(at(PssLevel::Restricted, PssVersion::v1(25), &spec).is_empty());
        let linux = json!({"os": {"name": "linux"}, "securityContext": {"runAsNonRoot": true,
            "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "app", "securityContext": {"capabilities": {"drop": ["ALL"]}}}]});
        assert_eq!(
            paths(&at(PssLevel::Restricted, PssVersion::v1(25), &linux)),
            ["spec.containers[0].securityContext.allowPrivilegeEscalation"]
        );
    }
}
