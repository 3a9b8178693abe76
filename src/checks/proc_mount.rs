//! /proc Mount Type: the default /proc masks must stay (`procMount` unset or
//! `Default`). Mirrors PSA's `check_procMount_baseline.go` (check ID
//! `procMount`, baseline, v1.0; from v1.35 any value is allowed for a pod
//! with `hostUsers: false`) and `check_procMount_restricted.go`
//! (`procMount_restricted`, restricted, v1.35, overriding `procMount` so
//! that restricted keeps the strict rule even in a user namespace).

use super::{Check, PssLevel, PssVersion, VersionedCheck};
use crate::podspec::Pod;
use crate::violation::Violation;

const CONTROL: &str = "/proc Mount Type";
const BASELINE_ID: &str = "procMount";

pub(super) const BASELINE_CHECK: Check = Check {
    id: BASELINE_ID,
    control: CONTROL,
    level: PssLevel::Baseline,
    versions: &[
        VersionedCheck::new(PssVersion::v1(0), proc_mount_1_0),
        VersionedCheck::new(PssVersion::v1(35), proc_mount_1_35_baseline),
    ],
};

pub(super) const RESTRICTED_CHECK: Check = Check {
    id: "procMount_restricted",
    control: CONTROL,
    level: PssLevel::Restricted,
    versions: &[VersionedCheck::overriding(
        PssVersion::v1(35),
        &[BASELINE_ID],
        proc_mount_1_0,
    )],
};

fn proc_mount_1_0(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    proc_mount(pod, "Default or unset", violations);
}

fn proc_mount_1_35_baseline(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    if !pod.in_user_namespace() {
        let expected = "Default or unset (or the pod sets hostUsers: false)";
        proc_mount(pod, expected, violations);
    }
}

fn proc_mount(pod: &Pod<'_>, expected: &str, violations: &mut Vec<Violation>) {
    for container in &pod.containers {
        let security_context = container.security_context.as_ref();
        match security_context.and_then(|sc| sc.proc_mount.as_deref()) {
            None | Some("Default") => {}
            Some(proc_mount) => violations.push(container.violation(
                "securityContext.procMount",
                expected,
                proc_mount.to_owned(),
                CONTROL,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{at, baseline, paths, restricted_pod};
    use super::super::{PssLevel, PssVersion};
    use serde_json::json;

    fn unmasked(host_users: Option<bool>) -> serde_json::Value {
        let mut spec = json!({"containers": [{"name": "nested", "securityContext": {"procMount": "Unmasked"}}]});
        if let Some(host_users) = host_users {
            spec["hostUsers"] = json!(host_users);
        }
        spec
    }

    #[test]
    fn proc_mount_must_be_default() {
        let passing =
            json!({"containers": [{"name": "web", "securityContext": {"procMount": "Default"}}]});
        assert!(baseline(&passing).is_empty());
        let found = baseline(&unmasked(None));
        assert_eq!(
            paths(&found),
            ["spec.containers[0].securityContext.procMount"]
        );
        assert_eq!(found[0].actual, "Unmasked");
    }

    #[test]
    fn baseline_relaxes_for_user_namespaces_from_1_35_only() {
        assert_eq!(
            at(
                PssLevel::Baseline,
                PssVersion::v1(34),
                &unmasked(Some(false))
            )
            .len(),
            1
        );
        assert!(
            at(
                PssLevel::Baseline,
                PssVersion::v1(35),
                &unmasked(Some(false))
            )
            .is_empty()
        );
        assert!(baseline(&unmasked(Some(false))).is_empty());
        // hostUsers: true (or unset) is no user namespace.
        assert_eq!(baseline(&unmasked(Some(true))).len(), 1);
    }

    #[test]
    fn restricted_keeps_the_strict_rule_in_a_user_namespace() {
        let mut spec = restricted_pod();
        spec["hostUsers"] = json!(false);
        spec["containers"][0]["securityContext"]["procMount"] = json!("Unmasked");
        for version in [PssVersion::v1(34), PssVersion::v1(35), PssVersion::LATEST] {
            let found = at(PssLevel::Restricted, version, &spec);
            assert_eq!(
                paths(&found),
                ["spec.containers[0].securityContext.procMount"],
                "at {version}"
            );
        }
    }
}
