//! AppArmor: a pod may not turn the default AppArmor profile off. Mirrors
//! PSA's `check_appArmorProfile.go` (baseline, v1.0). PSA has one version of
//! this check and reads both channels with it: the beta annotations
//! `container.apparmor.security.beta.kubernetes.io/*` (empty,
//! `runtime/default` or `localhost/<profile>`) and, since the fields were
//! added to the API (Kubernetes 1.30), `securityContext.appArmorProfile.type`
//! at pod and container level (`RuntimeDefault` or `Localhost`). So the field
//! rule applies at every pinned version, as it does in PSA.

use super::pod::{profile_problem, quoted};
use super::{Check, PssLevel, PssVersion, VersionedCheck};
use crate::podspec::Pod;
use crate::violation::Violation;

const CONTROL: &str = "AppArmor";
const ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";
const ANNOTATION_EXPECTED: &str = "runtime/default, localhost/<profile> or empty";
const FIELD_EXPECTED: &str = "RuntimeDefault or Localhost";

pub(super) const CHECK: Check = Check {
    id: "appArmorProfile",
    control: CONTROL,
    level: PssLevel::Baseline,
    versions: &[VersionedCheck::new(
        PssVersion::v1(0),
        app_armor_profile_1_0,
    )],
};

fn app_armor_profile_1_0(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    for (key, profile) in pod.annotations_with_prefix(ANNOTATION_PREFIX) {
        if !allowed_annotation(profile) {
            violations.push(Violation::pod(
                pod.annotation_path(key),
                &format!("annotations[{key}]"),
                ANNOTATION_EXPECTED,
                quoted(profile),
                CONTROL,
            ));
        }
    }
    let pod_context = pod.security_context.as_ref();
    let pod_profile = pod_context.and_then(|sc| sc.app_armor_profile.as_ref());
    if let Some(actual) = profile_problem(pod_profile.map(|profile| profile.type_.as_str())) {
        violations.push(pod.violation(
            "securityContext.appArmorProfile.type",
            FIELD_EXPECTED,
            actual,
            CONTROL,
        ));
    }
    for container in &pod.containers {
        let security_context = container.security_context.as_ref();
        let profile = security_context.and_then(|sc| sc.app_armor_profile.as_ref());
        if let Some(actual) = profile_problem(profile.map(|profile| profile.type_.as_str())) {
            violations.push(container.violation(
                "securityContext.appArmorProfile.type",
                FIELD_EXPECTED,
                actual,
                CONTROL,
            ));
        }
    }
}

fn allowed_annotation(profile: &str) -> bool {
    profile.is_empty() || profile == "runtime/default" || profile.starts_with("localhost/")
}

#[cfg(test)]
mod tests {
    use super::super::tests::{at, baseline, paths, with_metadata};
    use super::super::{PssLevel, PssVersion};
    use serde_json::json;

    #[test]
    fn annotations_may_keep_but_not_disable_apparmor() {
        let metadata = json!({"annotations": {
            "container.apparmor.security.beta.kubernetes.io/web": "runtime/default",
            "container.apparmor.security.beta.kubernetes.io/sidecar": "localhost/tight",
            "container.apparmor.security.beta.kubernetes.io/other": "",
            "example.com/unrelated": "unconfined"}});
        let spec = json!({"containers": [{"name": "web"}, {"name": "sidecar"}]});
        assert!(with_metadata(PssLevel::Baseline, PssVersion::LATEST, &metadata, &spec).is_empty());

        let metadata = json!({"annotations": {
            "container.apparmor.security.beta.kubernetes.io/web": "unconfined"}});
        let found = with_metadata(PssLevel::Baseline, PssVersion::v1(0), &metadata, &spec);
        assert_eq!(
            paths(&found),
            ["metadata.annotations[container.apparmor.security.beta.kubernetes.io/web]"]
        );
        assert_eq!(
            found[0].to_string(),
            "metadata.annotations[container.apparmor.security.beta.kubernetes.io/web] must be runtime/default, localhost/<profile> or empty (is \"unconfined\")"
        );
    }

    #[test]
    fn profile_fields_must_not_be_unconfined_at_any_version() {
        let passing = json!({"securityContext": {"appArmorProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "web", "securityContext": {
                "appArmorProfile": {"type": "Localhost", "localhostProfile": "tight"}}}]});
        assert!(baseline(&passing).is_empty());

        let failing = json!({"securityContext": {"appArmorProfile": {"type": "Unconfined"}},
            "containers": [{"name": "web", "securityContext": {"appArmorProfile": {"type": "Unconfined"}}}]});
        for version in [PssVersion::v1(0), PssVersion::v1(29), PssVersion::LATEST] {
            let found = at(PssLevel::Baseline, version, &failing);
            assert_eq!(
                paths(&found),
                [
                    "spec.containers[0].securityContext.appArmorProfile.type",
                    "spec.securityContext.appArmorProfile.type",
                ],
                "at {version}"
            );
        }
    }

    #[test]
    fn only_annotations_under_the_prefix_are_read() {
        let metadata = json!({"annotations": {
            "container.apparmor.security.beta.kubernetes.io": "unconfined",
            "container.apparmor.security.beta.kubernetes.io/web": "unconfined",
            "container.apparmor.security.beta.kubernetes.io0": "unconfined",
            "zzz.example.com/last": "unconfined"}});
        let spec = json!({"containers": [{"name": "web"}]});
        let found = with_metadata(PssLevel::Baseline, PssVersion::LATEST, &metadata, &spec);
        assert_eq!(
            paths(&found),
            ["metadata.annotations[container.apparmor.security.beta.kubernetes.io/web]"]
        );
    }

    #[test]
    fn a_profile_without_a_type_is_shown_as_unset() {
        let spec =
            json!({"containers": [{"name": "web", "securityContext": {"appArmorProfile": {}}}]});
        let found = baseline(&spec);
        assert_eq!(
            found[0].to_string(),
            "spec.containers[0] \"web\": securityContext.appArmorProfile.type must be RuntimeDefault or Localhost (is unset)"
        );
    }
}
