//! Privileged Containers: `securityContext.privileged: true` is forbidden
//! on every container. Mirrors PSA's `check_privileged.go` (baseline, v1.0).

use super::{Check, PssLevel, PssVersion, VersionedCheck};
use crate::podspec::Pod;
use crate::violation::Violation;

const CONTROL: &str = "Privileged Containers";

pub(super) const CHECK: Check = Check {
    id: "privileged",
    control: CONTROL,
    level: PssLevel::Baseline,
    versions: &[VersionedCheck::new(PssVersion::v1(0), privileged_1_0)],
};

fn privileged_1_0(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    for container in &pod.containers {
        let security_context = container.security_context.as_ref();
        if security_context.and_then(|sc| sc.privileged) == Some(true) {
            violations.push(container.violation(
                "securityContext.privileged",
                "false",
                "true".to_owned(),
                CONTROL,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{baseline, paths};
    use serde_json::json;

    #[test]
    fn privileged_is_forbidden_in_every_kind_of_container() {
        let passing =
            json!({"containers": [{"name": "web", "securityContext": {"privileged": false}}]});
        assert!(baseline(&passing).is_empty());

        let failing = json!({
            "initContainers": [{"name": "setup", "securityContext": {"privileged": true}}],
            "containers": [{"name": "web", "securityContext": {"privileged": true}}],
            "ephemeralContainers": [{"name": "debug", "securityContext": {"privileged": true}}]
        });
        let found = baseline(&failing);
        assert_eq!(
            paths(&found),
            [
                "spec.containers[0].securityContext.privileged",
                "spec.ephemeralContainers[0].securityContext.privileged",
                "spec.initContainers[0].securityContext.privileged",
            ]
        );
        assert_eq!(
            found[2].to_string(),
            "spec.initContainers[0] \"setup\": securityContext.privileged must be false (is true)"
        );
    }
}
