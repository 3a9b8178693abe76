//! Host Namespaces: sharing the node's network, PID or IPC namespace is
//! forbidden. Mirrors PSA's `check_hostNamespaces.go` (baseline, v1.0).

use super::{Check, PssLevel, PssVersion, VersionedCheck};
use crate::podspec::Pod;
use crate::violation::Violation;

const CONTROL: &str = "Host Namespaces";

pub(super) const CHECK: Check = Check {
    id: "hostNamespaces",
    control: CONTROL,
    level: PssLevel::Baseline,
    versions: &[VersionedCheck::new(PssVersion::v1(0), host_namespaces_1_0)],
};

fn host_namespaces_1_0(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    let spec = &pod.spec;
    for (key, value) in [
        ("hostNetwork", spec.host_network),
        ("hostPID", spec.host_pid),
        ("hostIPC", spec.host_ipc),
    ] {
        if value == Some(true) {
            violations.push(pod.violation(key, "false", "true".to_owned(), CONTROL));
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

        let failing = json!({"hostNetwork": true, "hostPID": true, "hostIPC": true, "containers": [{"name": "web"}]});
        let found = baseline(&failing);
        assert_eq!(
            paths(&found),
            ["spec.hostIPC", "spec.hostNetwork", "spec.hostPID"]
        );
        assert_eq!(found[0].actual, "true");
        assert_eq!(
            found[1].to_string(),
            "spec.hostNetwork must be false (is true)"
        );
    }
}
