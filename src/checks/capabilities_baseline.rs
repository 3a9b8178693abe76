//! Capabilities (baseline): a container may only add capabilities from the
//! container runtime's default set. Mirrors PSA's
//! `check_capabilities_baseline.go` (baseline, v1.0); at restricted from
//! v1.22 `capabilities_restricted` replaces it.

use super::{Check, PssLevel, PssVersion, VersionedCheck};
use crate::podspec::Pod;
use crate::violation::Violation;

const CONTROL: &str = "Capabilities";
pub(super) const ID: &str = "capabilities_baseline";

pub(super) const CHECK: Check = Check {
    id: ID,
    control: CONTROL,
    level: PssLevel::Baseline,
    versions: &[VersionedCheck::new(
        PssVersion::v1(0),
        capabilities_baseline_1_0,
    )],
};

/// The capabilities baseline lets a container add.
const ALLOWED: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

const EXPECTED: &str = "a default capability (AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID or SYS_CHROOT)";

fn capabilities_baseline_1_0(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    for container in &pod.containers {
        let added = container
            .security_context
            .as_ref()
            .and_then(|sc| sc.capabilities.as_ref())
            .and_then(|capabilities| capabilities.add.as_ref());
        for (index, capability) in added.into_iter().flatten().enumerate() {
            if !ALLOWED.contains(&capability.as_str()) {
                violations.push(container.violation(
                    &format!("securityContext.capabilities.add[{index}]"),
                    EXPECTED,
                    capability.clone(),
                    CONTROL,
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{at, baseline, paths};
    use super::super::{PssLevel, PssVersion};
    use serde_json::json;

    #[test]
    fn only_default_capabilities_may_be_added() {
        let passing = json!({"containers": [{"name": "web", "securityContext": {
            "capabilities": {"add": ["CHOWN", "NET_BIND_SERVICE"], "drop": ["NET_RAW"]}}}]});
        assert!(baseline(&passing).is_empty());

        let failing = json!({"containers": [{"name": "web", "securityContext": {
            "capabilities": {"add": ["CHOWN", "NET_RAW", "SYS_ADMIN"]}}}]});
        let found = baseline(&failing);
        assert_eq!(
            paths(&found),
            [
                "spec.containers[0].securityContext.capabilities.add[1]",
                "spec.containers[0].securityContext.capabilities.add[2]",
            ]
        );
        assert_eq!(found[0].actual, "NET_RAW");
        assert_eq!(found[0].control, "Capabilities");
    }

    #[test]
    fn restricted_before_1_22_still_uses_the_baseline_list() {
        // No drop: [ALL] needed before capabilities_restricted exists, but
        // NET_RAW is still refused by the baseline check.
        let spec = json!({
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "web", "securityContext": {
                "allowPrivilegeEscalation": false, "capabilities": {"add": ["NET_RAW"]}}}]
        });
        let found = at(PssLevel::Restricted, PssVersion::v1(21), &spec);
        assert_eq!(
            paths(&found),
            ["spec.containers[0].securityContext.capabilities.add[0]"]
        );
        assert!(found[0].expected.starts_with("a default capability"));
    }
}
