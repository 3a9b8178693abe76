//! Host Namespaces: sharing the node's network, PID or IPC namespace is
//! forbidden. Mirrors PSA's `check_hostNamespaces.go` (baseline, v1.0).

use super::pod::{PodView, must_not_be_true};
use super::{Check, PssLevel, PssVersion, VersionedCheck};
use crate::violation::Violation;

const CONTROL: &str = "Host Namespaces";

pub(super) const CHECK: Check = Check {
    id: "hostNamespaces",
    control: CONTROL,
    level: PssLevel::Baseline,
    versions: &[VersionedCheck::new(PssVersion::v1(0), host_namespaces_1_0)],
};

fn host_namespaces_1_0(pod: &PodView<'_>, violations: &mut Vec<Violation>) {
    for key in ["hostNetwork", "hostPID", "hostIPC"] {
        if let Some(actual) = must_not_be_true(pod.spec_field(key)) {
            violations.push(pod.violation(key, "false", actual, CONTROL));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{baseline, paths};
    use serde_json::json;

    #[test]
    fn host_namespaces_are_forbidden_and_false_is_fine() {
        let passing =
            json!({"hostNetwork": false, "hostPID": null, "containers": [{"name": "web"}]});
        assert!(baseline(&passing).is_empty());

        let failing = json!({"hostNetwork": true, "hostPID": true, "hostIPC": "yes", "containers": [{"name": "web"}]});
        let found = baseline(&failing);
        assert_eq!(
            paths(&found),
            ["spec.hostIPC", "spec.hostNetwork", "spec.hostPID"]
        );
        assert_eq!(found[0].actual, "\"yes\" (not a boolean)");
        assert_eq!(
            found[1].to_string(),
            "spec.hostNetwork must be false (is true)"
        );
    }
}
