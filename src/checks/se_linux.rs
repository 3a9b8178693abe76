//! SELinux: custom SELinux users and roles are forbidden and the type must
//! be one of the container types. Mirrors PSA's `check_seLinuxOptions.go`
//! (baseline, v1.0; v1.31 adds `container_engine_t`).

use super::{Check, PssLevel, PssVersion, VersionedCheck};
use crate::podspec::Pod;
use crate::violation::Violation;
use k8s_openapi::api::core::v1::SELinuxOptions;

const CONTROL: &str = "SELinux";

pub(super) const CHECK: Check = Check {
    id: "seLinuxOptions",
    control: CONTROL,
    level: PssLevel::Baseline,
    versions: &[
        VersionedCheck::new(PssVersion::v1(0), se_linux_options_1_0),
        VersionedCheck::new(PssVersion::v1(31), se_linux_options_1_31),
    ],
};

/// Types allowed besides unset/empty.
const TYPES_1_0: &[&str] = &["container_t", "container_init_t", "container_kvm_t"];
const TYPES_1_31: &[&str] = &[
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

fn se_linux_options_1_0(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    se_linux_options(pod, TYPES_1_0, violations);
}

fn se_linux_options_1_31(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    se_linux_options(pod, TYPES_1_31, violations);
}

fn se_linux_options(pod: &Pod<'_>, types: &[&str], violations: &mut Vec<Violation>) {
    let pod_options = pod.security_context.as_ref();
    for (field, expected, actual) in problems(
        pod_options.and_then(|sc| sc.se_linux_options.as_ref()),
        types,
    ) {
        violations.push(pod.violation(
            &format!("securityContext.{field}"),
            &expected,
            actual,
            CONTROL,
        ));
    }
    for container in &pod.containers {
        let security_context = container.security_context.as_ref();
        for (field, expected, actual) in problems(
            security_context.and_then(|sc| sc.se_linux_options.as_ref()),
            types,
        ) {
            violations.push(container.violation(
                &format!("securityContext.{field}"),
                &expected,
                actual,
                CONTROL,
            ));
        }
    }
}

/// (field relative to the securityContext, expected, actual) for each
/// offending part of `seLinuxOptions`.
fn problems(
    options: Option<&SELinuxOptions>,
    types: &[&str],
) -> Vec<(&'static str, String, String)> {
    let Some(options) = options else {
        return Vec::new();
    };
    let mut found = Vec::new();
    if let Some(kind) = options.type_.as_deref()
        && !kind.is_empty()
        && !types.contains(&kind)
    {
        found.push((
            "seLinuxOptions.type",
            format!("unset or one of {}", types.join(", ")),
            kind.to_owned(),
        ));
    }
    for (value, field) in [
        (&options.user, "seLinuxOptions.user"),
        (&options.role, "seLinuxOptions.role"),
    ] {
        if let Some(value) = value.as_deref().filter(|value| !value.is_empty()) {
            found.push((field, "unset".to_owned(), value.to_owned()));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::super::tests::{at, baseline, paths};
    use super::super::{PssLevel, PssVersion};
    use serde_json::json;

    #[test]
    fn selinux_type_must_be_a_container_type_and_user_role_unset() {
        let passing = json!({"securityContext": {"seLinuxOptions": {"type": "container_t", "level": "s0:c1,c2"}},
            "containers": [{"name": "web", "securityContext": {"seLinuxOptions": {"type": "container_init_t", "user": ""}}}]});
        assert!(baseline(&passing).is_empty());

        let failing = json!({"securityContext": {"seLinuxOptions": {"type": "spc_t"}},
            "containers": [{"name": "web", "securityContext": {"seLinuxOptions": {"user": "system_u", "role": "system_r"}}}]});
        let found = baseline(&failing);
        assert_eq!(
            paths(&found),
            [
                "spec.containers[0].securityContext.seLinuxOptions.role",
                "spec.containers[0].securityContext.seLinuxOptions.user",
                "spec.securityContext.seLinuxOptions.type",
            ]
        );
        assert_eq!(
            found[2].to_string(),
            "spec.securityContext.seLinuxOptions.type must be unset or one of container_t, container_init_t, container_kvm_t, container_engine_t (is spc_t)"
        );
    }

    #[test]
    fn container_engine_t_is_allowed_from_1_31() {
        let spec = json!({"containers": [{"name": "builder", "securityContext": {
            "seLinuxOptions": {"type": "container_engine_t"}}}]});
        assert_eq!(at(PssLevel::Baseline, PssVersion::v1(30), &spec).len(), 1);
        assert!(at(PssLevel::Baseline, PssVersion::v1(31), &spec).is_empty());
    }
}
