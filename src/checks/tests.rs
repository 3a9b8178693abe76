//! Helpers for the checks' unit tests, and tests of the table itself: which
//! checks run at which level and version, and the overrides between them.

use super::*;
use crate::podspec::{Metadata, Pod, PodSpec, read};
use serde_json::{Value, json};

/// A pod spec that meets restricted at every version: one container with
/// the securityContext restricted asks for, the pod running as non-root
/// with the runtime's seccomp profile.
pub(super) fn restricted_pod() -> Value {
    json!({
        "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": "app",
            "image": "registry.example/app:1.4",
            "ports": [{"containerPort": 8080}],
            "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}
        }]
    })
}

/// Reads a pod template (`metadata`, `spec`) given as JSON the way the
/// policy reads a request, at the paths given, and runs `check` on it; or
/// says why the template is refused.
pub(super) fn try_reading<T>(
    metadata: &Value,
    spec: &Value,
    spec_path: &str,
    metadata_path: &str,
    check: impl FnOnce(&Pod) -> T,
) -> Result<T, String> {
    let metadata_text = metadata.to_string();
    let metadata: Option<Metadata> = read(&metadata_text, metadata_path)?;
    let spec_text = spec.to_string();
    let spec: PodSpec = read(&spec_text, spec_path)?;
    let pod = Pod::read(
        spec,
        None,
        metadata.unwrap_or_default(),
        spec_path.into(),
        metadata_path.into(),
    )?;
    Ok(check(&pod))
}

/// [`try_reading`] for a template that is read.
pub(super) fn reading<T>(
    metadata: &Value,
    spec: &Value,
    spec_path: &str,
    metadata_path: &str,
    check: impl FnOnce(&Pod) -> T,
) -> T {
    try_reading(metadata, spec, spec_path, metadata_path, check).expect("a readable pod")
}

/// Checks `spec` (a JSON object) at a Pod's paths, without metadata.
pub(super) fn at(level: PssLevel, version: PssVersion, spec: &Value) -> Vec<Violation> {
    with_metadata(level, version, &Value::Null, spec)
}

pub(super) fn with_metadata(
    level: PssLevel,
    version: PssVersion,
    metadata: &Value,
    spec: &Value,
) -> Vec<Violation> {
    reading(metadata, spec, "spec", "metadata", |pod| {
        check_pod(level, version, pod)
    })
}

pub(super) fn baseline(spec: &Value) -> Vec<Violation> {
    at(PssLevel::Baseline, PssVersion::LATEST, spec)
}

pub(super) fn restricted(spec: &Value) -> Vec<Violation> {
    at(PssLevel::Restricted, PssVersion::LATEST, spec)
}

pub(super) fn paths(violations: &[Violation]) -> Vec<&str> {
    violations.iter().map(|v| v.path.as_str()).collect()
}

#[test]
fn versions_parse_and_print_like_psa_labels() {
    assert_eq!("latest".parse(), Ok(PssVersion::LATEST));
    assert_eq!("v1.0".parse(), Ok(PssVersion::v1(0)));
    assert_eq!("v1.37".parse(), Ok(PssVersion::NEWEST));
    for bad in [
        "v1.38", "1.25", "v1.", "v1.05", "v2.0", "v1.-1", "Latest", "",
    ] {
        assert!(bad.parse::<PssVersion>().is_err(), "{bad:?}");
    }
    assert_eq!(PssVersion::v1(25).to_string(), "v1.25");
    assert_eq!(PssVersion::LATEST.to_string(), "latest");
    assert!(PssVersion::LATEST > PssVersion::NEWEST);
    assert_eq!(PssVersion::LATEST.resolved_minor(), 37);
    assert_eq!(
        serde_json::from_value::<PssVersion>(json!("v1.29")).unwrap(),
        PssVersion::v1(29)
    );
    assert_eq!(
        serde_json::to_value(PssVersion::LATEST).unwrap(),
        json!("latest")
    );
    assert_eq!("restricted".parse(), Ok(PssLevel::Restricted));
    assert!("Restricted".parse::<PssLevel>().is_err());
    assert_eq!(
        rules_name(PssLevel::Restricted, PssVersion::NEWEST),
        "PodSecurity \"restricted:v1.37\""
    );
}

#[test]
fn the_table_is_well_formed() {
    let mut ids: Vec<&str> = CHECKS.iter().map(|check| check.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), CHECKS.len(), "check IDs are unique");
    assert_eq!(CHECKS.len(), 19);
    let newest = CHECKS
        .iter()
        .flat_map(|check| check.versions)
        .map(|versioned| versioned.since)
        .max();
    assert_eq!(
        newest,
        Some(PssVersion::NEWEST),
        "latest is the newest minimum version"
    );
    for check in CHECKS {
        assert_ne!(check.level, PssLevel::Privileged);
        assert!(!check.versions.is_empty());
        assert!(
            check
                .versions
                .windows(2)
                .all(|pair| pair[0].since < pair[1].since),
            "{}: versions strictly increase",
            check.id
        );
        for versioned in check.versions {
            assert!(versioned.overrides.is_empty() || check.level == PssLevel::Restricted);
            for overridden in versioned.overrides {
                let target = CHECKS
                    .iter()
                    .find(|c| c.id == *overridden)
                    .expect("known ID");
                assert_eq!(
                    target.level,
                    PssLevel::Baseline,
                    "{} overrides a baseline check",
                    check.id
                );
            }
        }
    }
}

#[test]
fn which_checks_run_follows_level_version_and_overrides() {
    assert!(applicable_checks(PssLevel::Privileged, PssVersion::LATEST).is_empty());
    assert_eq!(
        applicable_check_ids(PssLevel::Baseline, PssVersion::v1(0)),
        [
            "appArmorProfile",
            "capabilities_baseline",
            "hostNamespaces",
            "hostPathVolumes",
            "hostPorts",
            "privileged",
            "procMount",
            "seLinuxOptions",
            "seccompProfile_baseline",
            "sysctls",
            "windowsHostProcess",
        ]
    );
    assert_eq!(
        applicable_check_ids(PssLevel::Baseline, PssVersion::LATEST).len(),
        12
    );
    assert_eq!(
        applicable_check_ids(PssLevel::Restricted, PssVersion::v1(0)),
        [
            "appArmorProfile",
            "capabilities_baseline",
            "hostNamespaces",
            "hostPorts",
            "privileged",
            "procMount",
            "seLinuxOptions",
            "seccompProfile_baseline",
            "sysctls",
            "windowsHostProcess",
            "restrictedVolumes",
            "runAsNonRoot",
        ]
    );
    let restricted_latest = applicable_check_ids(PssLevel::Restricted, PssVersion::LATEST);
    assert_eq!(
        restricted_latest,
        [
            "appArmorProfile",
            "hostNamespaces",
            "hostPorts",
            "hostProbesAndHostLifecycle",
            "privileged",
            "seLinuxOptions",
            "sysctls",
            "windowsHostProcess",
            "allowPrivilegeEscalation",
            "capabilities_restricted",
            "procMount_restricted",
            "restrictedVolumes",
            "runAsNonRoot",
            "runAsUser",
            "seccompProfile_restricted",
        ]
    );
    // v1.37 and anything newer pinned resolve like latest.
    assert_eq!(
        applicable_check_ids(PssLevel::Restricted, PssVersion::NEWEST),
        restricted_latest
    );
    // Overrides only apply while the overriding implementation does.
    let at_21 = applicable_check_ids(PssLevel::Restricted, PssVersion::v1(21));
    assert!(
        at_21.contains(&"capabilities_baseline") && !at_21.contains(&"capabilities_restricted")
    );
    let at_18 = applicable_check_ids(PssLevel::Restricted, PssVersion::v1(18));
    assert!(at_18.contains(&"seccompProfile_baseline"));
    assert!(
        !applicable_check_ids(PssLevel::Restricted, PssVersion::v1(19))
            .contains(&"seccompProfile_baseline")
    );
    assert!(applicable_check_ids(PssLevel::Restricted, PssVersion::v1(34)).contains(&"procMount"));
}

#[test]
fn the_newest_implementation_at_or_below_the_version_runs() {
    let sysctls = CHECKS.iter().find(|check| check.id == "sysctls").unwrap();
    let since = |version| sysctls.at(version).map(|versioned| versioned.since);
    assert_eq!(since(PssVersion::v1(26)), Some(PssVersion::v1(0)));
    assert_eq!(since(PssVersion::v1(28)), Some(PssVersion::v1(27)));
    assert_eq!(since(PssVersion::v1(31)), Some(PssVersion::v1(29)));
    assert_eq!(since(PssVersion::v1(36)), Some(PssVersion::v1(32)));
    assert_eq!(since(PssVersion::LATEST), Some(PssVersion::v1(37)));
    let probes = CHECKS
        .iter()
        .find(|c| c.id == "hostProbesAndHostLifecycle")
        .unwrap();
    assert!(probes.at(PssVersion::v1(33)).is_none());
}

#[test]
fn a_compliant_pod_passes_everywhere_and_privileged_checks_nothing() {
    for minor in 0..=PssVersion::NEWEST_MINOR {
        for level in [PssLevel::Baseline, PssLevel::Restricted] {
            let found = at(level, PssVersion::v1(minor), &restricted_pod());
            assert!(found.is_empty(), "{level} v1.{minor}: {found:?}");
        }
    }
    let dreadful = json!({"hostNetwork": true, "hostPID": true,
        "containers": [{"name": "root", "securityContext": {"privileged": true, "runAsUser": 0}}],
        "volumes": [{"name": "root", "hostPath": {"path": "/"}}]});
    assert!(at(PssLevel::Privileged, PssVersion::LATEST, &dreadful).is_empty());
    assert_eq!(baseline(&dreadful).len(), 4);
}

#[test]
fn a_deployment_template_gets_template_paths() {
    let metadata = json!({"annotations": {
        "container.apparmor.security.beta.kubernetes.io/web": "unconfined"}});
    let spec = json!({"containers": [{"name": "web", "securityContext": {"privileged": true}}]});
    let found = reading(
        &metadata,
        &spec,
        "spec.template.spec",
        "spec.template.metadata",
        |pod| check_pod(PssLevel::Baseline, PssVersion::LATEST, pod),
    );
    let shown: Vec<String> = found.iter().map(Violation::to_string).collect();
    assert_eq!(
        shown,
        [
            "spec.template.metadata.annotations[container.apparmor.security.beta.kubernetes.io/web] must be runtime/default, localhost/<profile> or empty (is \"unconfined\")",
            "spec.template.spec.containers[0] \"web\": securityContext.privileged must be false (is true)",
        ]
    );
}

#[test]
fn a_knative_revision_spec_is_read_like_a_pod_spec() {
    let spec = json!({"containerConcurrency": 10, "timeoutSeconds": 300,
        "containers": [{"image": "registry.example/fn", "securityContext": {"allowPrivilegeEscalation": true}}]});
    let found = reading(
        &Value::Null,
        &spec,
        "spec.template.spec",
        "spec.template.metadata",
        |pod| check_pod(PssLevel::Restricted, PssVersion::LATEST, pod),
    );
    // The unnamed container is reported by path alone.
    assert!(found.iter().any(|v| v.to_string()
        == "spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation must be false (is true)"));
}

/// Checks one odd template: it is either refused when read, with the path
/// of the offending value, or checked at every level and version (and by
/// the fixed-identity profile) without a panic. Whether it was refused.
fn refused_or_checked(metadata: &Value, spec: &Value) -> bool {
    let checked = try_reading(metadata, spec, "spec", "metadata", |pod| {
        for minor in [0, 18, 19, 22, 25, 34, 35, 37] {
            for level in [PssLevel::Baseline, PssLevel::Restricted] {
                for violation in check_pod(level, PssVersion::v1(minor), pod) {
                    let _ = violation.to_string();
                }
            }
        }
        let _ = check_identity(Some(1), Some(1), true, pod);
    });
    match checked {
        Ok(()) => false,
        Err(refusal) => {
            assert!(
                (refusal.starts_with("spec") || refusal.starts_with("metadata"))
                    && refusal.contains(": "),
                "{refusal}"
            );
            true
        }
    }
}

#[test]
fn odd_json_is_refused_when_read_or_checked_without_panic() {
    let odd_values = [
        json!(null),
        json!(true),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(""),
        json!("x"),
        json!([]),
        json!([null, 1, "a", {}, []]),
        json!({}),
        json!({"type": 7, "add": "x", "drop": {}, "host": [], "name": 3}),
    ];
    let keys = [
        "hostNetwork",
        "hostPID",
        "hostIPC",
        "hostUsers",
        "os",
        "securityContext",
        "containers",
        "initContainers",
        "ephemeralContainers",
        "volumes",
    ];
    let container_keys = [
        "securityContext",
        "ports",
        "livenessProbe",
        "readinessProbe",
        "startupProbe",
        "lifecycle",
        "name",
    ];
    let context_keys = [
        "privileged",
        "capabilities",
        "allowPrivilegeEscalation",
        "runAsNonRoot",
        "runAsUser",
        "runAsGroup",
        "seccompProfile",
        "appArmorProfile",
        "seLinuxOptions",
        "procMount",
        "windowsOptions",
        "sysctls",
    ];
    let annotations = json!({"annotations": {
        "container.apparmor.security.beta.kubernetes.io/a": "unconfined",
        "seccomp.security.alpha.kubernetes.io/pod": ""}});
    let (mut refused, mut checked) = (0, 0);
    let mut tally = |was_refused: bool| {
        if was_refused {
            refused += 1;
        } else {
            checked += 1;
        }
    };
    for odd in &odd_values {
        let mut specs = Vec::new();
        for key in keys {
            specs.push(json!({ key: odd }));
        }
        for key in container_keys {
            specs.push(json!({"containers": [{ key: odd }], "volumes": [{ key: odd }]}));
        }
        for key in context_keys {
            specs.push(json!({"securityContext": { key: odd },
                "initContainers": [{"securityContext": { key: odd }}],
                "containers": [{"securityContext": { key: odd }, "ports": [{"hostPort": odd}],
                    "livenessProbe": {"httpGet": odd, "tcpSocket": {"host": odd}},
                    "lifecycle": {"preStop": odd, "postStart": {"httpGet": {"host": odd}}}}],
                "volumes": [{"name": odd, "hostPath": odd, "secret": odd}, odd]}));
            // One odd value at a time, so the rest of the pod is read.
            specs.push(json!({"securityContext": { key: odd }}));
            specs.push(json!({"containers": [{"name": "a", "securityContext": { key: odd }}]}));
        }
        for spec in &specs {
            tally(refused_or_checked(&annotations, spec));
        }
        let odd_annotations = json!({"annotations": {
            "container.apparmor.security.beta.kubernetes.io/a": odd,
            "seccomp.security.alpha.kubernetes.io/pod": odd}});
        tally(refused_or_checked(&odd_annotations, &restricted_pod()));
        tally(refused_or_checked(
            &json!({ "annotations": odd }),
            &restricted_pod(),
        ));
    }
    assert!(
        refused > 100 && checked > 100,
        "{refused} refused, {checked} checked"
    );
}

#[test]
fn wrong_types_in_restricted_fields_are_refused_when_read() {
    let refusal = |spec: &Value| {
        try_reading(&Value::Null, spec, "spec", "metadata", |_| ()).expect_err("refused")
    };
    let mut spec = restricted_pod();
    spec["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = json!("false");
    assert_eq!(
        refusal(&spec),
        "spec.containers[0].securityContext: invalid type: string \"false\", expected a boolean"
    );
    let mut spec = restricted_pod();
    spec["securityContext"]["runAsNonRoot"] = json!(1);
    assert_eq!(
        refusal(&spec),
        "spec.securityContext: invalid type: integer `1`, expected a boolean"
    );
    let mut spec = restricted_pod();
    spec["containers"][0]["securityContext"] = json!("locked-down");
    assert!(
        refusal(&spec).starts_with(
            "spec.containers[0].securityContext: invalid type: string \"locked-down\""
        ),
        "{}",
        refusal(&spec)
    );
    let mut spec = restricted_pod();
    spec["containers"][0]["securityContext"]["capabilities"]["drop"] = json!("ALL");
    assert!(
        refusal(&spec)
            .starts_with("spec.containers[0].securityContext: invalid type: string \"ALL\""),
        "{}",
        refusal(&spec)
    );
}
