//! Running as Non-root user: no pod or container may set `runAsUser: 0`.
//! Mirrors PSA's `check_runAsUser.go` (restricted, v1.23; from v1.35 a pod
//! with `hostUsers: false` is exempt).

use super::{Check, PssLevel, PssVersion, VersionedCheck};
use crate::podspec::Pod;
use crate::violation::Violation;

const CONTROL: &str = "Running as Non-root user";
const EXPECTED: &str = "a non-zero UID or unset";

pub(super) const CHECK: Check = Check {
    id: "runAsUser",
    control: CONTROL,
    level: PssLevel::Restricted,
    versions: &[
        VersionedCheck::new(PssVersion::v1(23), run_as_user_1_23),
        VersionedCheck::new(PssVersion::v1(35), run_as_user_1_35),
    ],
};

fn run_as_user_1_23(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    if pod.security_context.as_ref().and_then(|sc| sc.run_as_user) == Some(0) {
        violations.push(pod.violation(
            "securityContext.runAsUser",
            EXPECTED,
            "0".to_owned(),
            CONTROL,
        ));
    }
    for container in &pod.containers {
        let security_context = container.security_context.as_ref();
        if security_context.and_then(|sc| sc.run_as_user) == Some(0) {
            violations.push(container.violation(
                "securityContext.runAsUser",
                EXPECTED,
                "0".to_owned(),
                CONTROL,
            ));
        }
    }
}

fn run_as_user_1_35(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    if !pod.in_user_namespace() {
        run_as_user_1_23(pod, violations);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{at, paths, restricted, restricted_pod};
    use super::super::{PssLevel, PssVersion};
    use serde_json::json;

    #[test]
    fn uid_0_is_forbidden_from_1_23() {
        let mut spec = restricted_pod();
        spec["securityContext"]["runAsUser"] = json!(1000);
        assert!(restricted(&spec).is_empty());

        spec["securityContext"]["runAsUser"] = json!(0);
        spec["containers"][0]["securityContext"]["runAsUser"] = json!(0);
        let found = restricted(&spec);
        assert_eq!(
            paths(&found),
            [
                "spec.containers[0].securityContext.runAsUser",
                "spec.securityContext.runAsUser",
            ]
        );
        assert!(at(PssLevel::Restricted, PssVersion::v1(22), &spec).is_empty());
        assert_eq!(at(PssLevel::Restricted, PssVersion::v1(23), &spec).len(), 2);
    }

    #[test]
    fn user_namespaces_are_exempt_from_1_35() {
        let mut spec = restricted_pod();
        spec["hostUsers"] = json!(false);
        spec["securityContext"]["runAsUser"] = json!(0);
        assert_eq!(at(PssLevel::Restricted, PssVersion::v1(34), &spec).len(), 1);
        assert!(at(PssLevel::Restricted, PssVersion::LATEST, &spec).is_empty());
    }
}
