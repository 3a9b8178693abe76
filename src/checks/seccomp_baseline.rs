//! Seccomp (baseline): a pod may not turn seccomp off. Mirrors PSA's
//! `check_seccompProfile_baseline.go` (`seccompProfile_baseline`, baseline):
//! - v1.0 reads the alpha annotations `seccomp.security.alpha.kubernetes.io/pod`
//!   and `container.seccomp.security.alpha.kubernetes.io/<container name>`
//!   (for the pod's own containers): when present they must be
//!   `runtime/default`, `docker/default` or `localhost/<profile>`;
//! - v1.19 reads `securityContext.seccompProfile.type` at pod and container
//!   level instead: when set it must be `RuntimeDefault` or `Localhost`.
//!
//! At restricted from v1.19, `seccompProfile_restricted` replaces it.

use super::pod::{profile_problem, quoted};
use super::{Check, PssLevel, PssVersion, VersionedCheck};
use crate::podspec::Pod;
use crate::violation::Violation;

const CONTROL: &str = "Seccomp";
pub(super) const ID: &str = "seccompProfile_baseline";
const POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const CONTAINER_ANNOTATION_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";

pub(super) const CHECK: Check = Check {
    id: ID,
    control: CONTROL,
    level: PssLevel::Baseline,
    versions: &[
        VersionedCheck::new(PssVersion::v1(0), seccomp_profile_baseline_1_0),
        VersionedCheck::new(PssVersion::v1(19), seccomp_profile_baseline_1_19),
    ],
};

fn seccomp_profile_baseline_1_0(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    if pod.annotations.is_empty() {
        return;
    }
    let mut keys = vec![POD_ANNOTATION.to_owned()];
    for container in &pod.containers {
        // A container without a name is looked up under the bare prefix, as
        // PSA does with Go's empty name.
        keys.push(format!("{CONTAINER_ANNOTATION_PREFIX}{}", container.name()));
    }
    for key in keys {
        let Some(profile) = pod.annotations.get(&key) else {
            continue;
        };
        if allowed_annotation(profile) {
            continue;
        }
        violations.push(Violation::pod(
            pod.annotation_path(&key),
            &format!("annotations[{key}]"),
            "runtime/default, docker/default or localhost/<profile>",
            quoted(profile),
            CONTROL,
        ));
    }
}

fn allowed_annotation(profile: &str) -> bool {
    profile == "runtime/default" || profile == "docker/default" || profile.starts_with("localhost/")
}

fn seccomp_profile_baseline_1_19(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    const EXPECTED: &str = "RuntimeDefault, Localhost or unset";
    let pod_context = pod.security_context.as_ref();
    let pod_profile = pod_context.and_then(|sc| sc.seccomp_profile.as_ref());
    if let Some(actual) = profile_problem(pod_profile.map(|profile| profile.type_.as_str())) {
        violations.push(pod.violation(
            "securityContext.seccompProfile.type",
            EXPECTED,
            actual,
            CONTROL,
        ));
    }
    for container in &pod.containers {
        let security_context = container.security_context.as_ref();
        let profile = security_context.and_then(|sc| sc.seccomp_profile.as_ref());
        if let Some(actual) = profile_problem(profile.map(|profile| profile.type_.as_str())) {
            violations.push(container.violation(
                "securityContext.seccompProfile.type",
                EXPECTED,
                actual,
                CONTROL,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{at, baseline, paths, with_metadata};
    use super::super::{PssLevel, PssVersion};
    use serde_json::json;

    #[test]
    fn before_1_19_the_annotations_are_checked() {
        let spec = json!({"containers": [{"name": "web"}, {"name": "sidecar"}]});
        let passing = json!({"annotations": {
            "seccomp.security.alpha.kubernetes.io/pod": "runtime/default",
            "container.seccomp.security.alpha.kubernetes.io/web": "localhost/strict.json",
            "container.seccomp.security.alpha.kubernetes.io/gone": "unconfined"}});
        assert!(with_metadata(PssLevel::Baseline, PssVersion::v1(18), &passing, &spec).is_empty());

        let failing = json!({"annotations": {
            "seccomp.security.alpha.kubernetes.io/pod": "unconfined",
            "container.seccomp.security.alpha.kubernetes.io/sidecar": "unconfined"}});
        let found = with_metadata(PssLevel::Baseline, PssVersion::v1(18), &failing, &spec);
        assert_eq!(
            paths(&found),
            [
                "metadata.annotations[container.seccomp.security.alpha.kubernetes.io/sidecar]",
                "metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]",
            ]
        );
        // From 1.19 the annotations are no longer read …
        assert!(with_metadata(PssLevel::Baseline, PssVersion::v1(19), &failing, &spec).is_empty());
    }

    #[test]
    fn from_1_19_the_fields_are_checked() {
        let spec = json!({"securityContext": {"seccompProfile": {"type": "Unconfined"}},
            "containers": [{"name": "web", "securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}}}]});
        // … and the fields were not read before 1.19.
        assert!(at(PssLevel::Baseline, PssVersion::v1(18), &spec).is_empty());
        let found = at(PssLevel::Baseline, PssVersion::v1(19), &spec);
        assert_eq!(paths(&found), ["spec.securityContext.seccompProfile.type"]);
        assert_eq!(
            found[0].to_string(),
            "spec.securityContext.seccompProfile.type must be RuntimeDefault, Localhost or unset (is Unconfined)"
        );
        let unset = json!({"containers": [{"name": "web"}]});
        assert!(baseline(&unset).is_empty());
    }
}
