//! Seccomp (restricted): every container must run with a seccomp profile,
//! `RuntimeDefault` or `Localhost`, set on the container or inherited from
//! the pod. Mirrors PSA's `check_seccompProfile_restricted.go`
//! (`seccompProfile_restricted`, restricted, v1.19; v1.25 exempts pods with
//! `spec.os.name: windows`, where the API forbids the field). Overrides
//! `seccompProfile_baseline`.

use super::pod::profile_problem;
use super::seccomp_baseline;
use super::{Check, PssLevel, PssVersion, VersionedCheck};
use crate::podspec::Pod;
use crate::violation::Violation;

const CONTROL: &str = "Seccomp";
const EXPECTED: &str = "RuntimeDefault or Localhost";
const EXPECTED_HERE_OR_IN_POD: &str =
    "RuntimeDefault or Localhost, here or in the pod's securityContext";

pub(super) const CHECK: Check = Check {
    id: "seccompProfile_restricted",
    control: CONTROL,
    level: PssLevel::Restricted,
    versions: &[
        VersionedCheck::overriding(
            PssVersion::v1(19),
            &[seccomp_baseline::ID],
            seccomp_profile_restricted_1_19,
        ),
        VersionedCheck::overriding(
            PssVersion::v1(25),
            &[seccomp_baseline::ID],
            seccomp_profile_restricted_1_25,
        ),
    ],
};

fn seccomp_profile_restricted_1_19(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    let pod_context = pod.security_context.as_ref();
    let pod_profile = pod_context.and_then(|sc| sc.seccomp_profile.as_ref());
    let pod_problem = profile_problem(pod_profile.map(|profile| profile.type_.as_str()));
    if let Some(actual) = &pod_problem {
        violations.push(pod.violation(
            "securityContext.seccompProfile.type",
            EXPECTED,
            actual.clone(),
            CONTROL,
        ));
    }
    for container in &pod.containers {
        let security_context = container.security_context.as_ref();
        if let Some(profile) = security_context.and_then(|sc| sc.seccomp_profile.as_ref()) {
            if let Some(actual) = profile_problem(Some(&profile.type_)) {
                violations.push(container.violation(
                    "securityContext.seccompProfile.type",
                    EXPECTED,
                    actual,
                    CONTROL,
                ));
            }
        } else if pod_problem.is_some() || pod_profile.is_none() {
            // Neither the container nor (validly) the pod sets a profile.
            let actual = if pod_problem.is_some() {
                "unset, and the pod's is not allowed"
            } else {
                "unset"
            };
            violations.push(container.violation(
                "securityContext.seccompProfile.type",
                EXPECTED_HERE_OR_IN_POD,
                actual.to_owned(),
                CONTROL,
            ));
        }
    }
}

fn seccomp_profile_restricted_1_25(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    if !pod.is_windows() {
        seccomp_profile_restricted_1_19(pod, violations);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{at, paths, restricted, restricted_pod};
    use super::super::{PssLevel, PssVersion};
    use serde_json::json;

    #[test]
    fn a_profile_is_required_on_the_pod_or_every_container() {
        assert!(restricted(&restricted_pod()).is_empty());

        let mut per_container = restricted_pod();
        per_container["securityContext"]
            .as_object_mut()
            .unwrap()
            .remove("seccompProfile");
        per_container["containers"][0]["securityContext"]["seccompProfile"] =
            json!({"type": "RuntimeDefault"});
        assert!(restricted(&per_container).is_empty());

        per_container["initContainers"] = json!([{"name": "setup", "securityContext": {
            "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]);
        let found = restricted(&per_container);
        assert_eq!(
            paths(&found),
            ["spec.initContainers[0].securityContext.seccompProfile.type"]
        );
        assert_eq!(
            found[0].to_string(),
            "spec.initContainers[0] \"setup\": securityContext.seccompProfile.type must be RuntimeDefault or Localhost, here or in the pod's securityContext (is unset)"
        );
    }

    #[test]
    fn an_unconfined_pod_profile_fails_with_the_containers_inheriting_it() {
        let mut spec = restricted_pod();
        spec["securityContext"]["seccompProfile"] = json!({"type": "Unconfined"});
        spec["containers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "own", "securityContext": {
                "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"}}}));
        let found = restricted(&spec);
        assert_eq!(
            paths(&found),
            [
                "spec.containers[0].securityContext.seccompProfile.type",
                "spec.securityContext.seccompProfile.type",
            ]
        );
    }

    #[test]
    fn windows_pods_are_exempt_from_1_25() {
        let spec = json!({"os": {"name": "windows"}, "securityContext": {"runAsNonRoot": true},
            "containers": [{"name": "iis", "securityContext": {}}]});
        assert!(at(PssLevel::Restricted, PssVersion::v1(25), &spec).is_empty());
        let before: Vec<&str> = at(PssLevel::Restricted, PssVersion::v1(24), &spec)
            .iter()
            .map(|v| v.control)
            .collect();
        assert_eq!(before, ["Privilege Escalation", "Capabilities", "Seccomp"]);
    }
}
