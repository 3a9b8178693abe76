//! Running as Non-root: every container must run with `runAsNonRoot: true`,
//! set on the container or inherited from the pod; an explicit `false`
//! anywhere fails (a container's own value overrides the pod's). Mirrors
//! PSA's `check_runAsNonRoot.go` (restricted, v1.0; from v1.35 a pod with
//! `hostUsers: false` is exempt, since its root is not the node's root).

use super::{Check, PssLevel, PssVersion, VersionedCheck};
use crate::podspec::Pod;
use crate::violation::Violation;

const CONTROL: &str = "Running as Non-root";

pub(super) const CHECK: Check = Check {
    id: "runAsNonRoot",
    control: CONTROL,
    level: PssLevel::Restricted,
    versions: &[
        VersionedCheck::new(PssVersion::v1(0), run_as_non_root_1_0),
        VersionedCheck::new(PssVersion::v1(35), run_as_non_root_1_35),
    ],
};

fn run_as_non_root_1_0(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    let pod_value = pod
        .security_context
        .as_ref()
        .and_then(|sc| sc.run_as_non_root);
    if pod_value == Some(false) {
        violations.push(pod.violation(
            "securityContext.runAsNonRoot",
            "true",
            "false".to_owned(),
            CONTROL,
        ));
    }
    for container in &pod.containers {
        let security_context = container.security_context.as_ref();
        let actual = match (
            security_context.and_then(|sc| sc.run_as_non_root),
            pod_value,
        ) {
            (Some(true), _) | (None, Some(true)) => continue,
            (Some(false), _) => "false",
            (None, Some(false)) => "unset, and the pod's is not true",
            (None, None) => "unset",
        };
        // Left unset on purpose, because the container would not start
        // with it: the message says what to change.
        let actual = match &container.run_as_root_reason {
            Some(reason) => format!("{actual}; {reason}"),
            None => actual.to_owned(),
        };
        violations.push(container.violation(
            "securityContext.runAsNonRoot",
            "true, here or in the pod's securityContext",
            actual,
            CONTROL,
        ));
    }
}

fn run_as_non_root_1_35(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    if !pod.in_user_namespace() {
        run_as_non_root_1_0(pod, violations);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{at, paths, restricted, restricted_pod};
    use super::super::{PssLevel, PssVersion};
    use serde_json::json;

    #[test]
    fn pod_level_true_covers_containers_and_container_values_override_it() {
        assert!(restricted(&restricted_pod()).is_empty());

        let mut spec = restricted_pod();
        spec["securityContext"]["runAsNonRoot"] = json!(false);
        spec["containers"][0]["securityContext"]["runAsNonRoot"] = json!(true);
        // The container overrides the pod, but the pod's false still fails.
        assert_eq!(
            paths(&restricted(&spec)),
            ["spec.securityContext.runAsNonRoot"]
        );

        let mut spec = restricted_pod();
        spec["containers"][0]["securityContext"]["runAsNonRoot"] = json!(false);
        let found = restricted(&spec);
        assert_eq!(
            paths(&found),
            ["spec.containers[0].securityContext.runAsNonRoot"]
        );
        assert_eq!(found[0].actual, "false");
    }

    #[test]
    fn every_container_needs_true_when_the_pod_does_not_set_it() {
        let mut spec = restricted_pod();
        spec["securityContext"]
            .as_object_mut()
            .unwrap()
            .remove("runAsNonRoot");
        spec["containers"][0]["securityContext"]["runAsNonRoot"] = json!(true);
        assert!(restricted(&spec).is_empty());
        spec["ephemeralContainers"] = json!([{"name": "debug", "securityContext": {
            "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]);
        let found = restricted(&spec);
        assert_eq!(
            paths(&found),
            ["spec.ephemeralContainers[0].securityContext.runAsNonRoot"]
        );
        assert_eq!(found[0].actual, "unset");
    }

    #[test]
    fn user_namespaces_are_exempt_from_1_35() {
        let mut spec = restricted_pod();
        spec["hostUsers"] = json!(false);
        spec["securityContext"]["runAsNonRoot"] = json!(false);
        let before = at(PssLevel::Restricted, PssVersion::v1(34), &spec);
        assert_eq!(
            paths(&before),
            [
                "spec.containers[0].securityContext.runAsNonRoot",
                "spec.securityContext.runAsNonRoot",
            ]
        );
        assert_eq!(before[0].actual, "unset, and the pod's is not true");
        assert!(at(PssLevel::Restricted, PssVersion::v1(35), &spec).is_empty());
        spec["hostUsers"] = json!(true);
        assert_eq!(at(PssLevel::Restricted, PssVersion::v1(35), &spec).len(), 2);
    }
}
