//! Pod security per namespace (`namespace_labels: true`): the labels of the
//! request's Namespace, read as Pod Security Admission reads them, decide
//! the level and version a request is checked at (enforce), warned about
//! (warn) and audited at (audit), and how far it is defaulted.
//!
//! The Namespace comes from the host (`kubernetes/get_resource`, one call
//! per request, the host's cache left on), read for its labels alone. When
//! it cannot be had, the policy's settings apply and a warning says why: a
//! request is never refused because a lookup failed.
//!
//! The labels are read as PSA's `PolicyToEvaluate`
//! (`k8s.io/pod-security-admission/api`) reads them:
//! - an unset label keeps the default, which here is the policy's settings
//!   for enforce and `privileged` (nothing) for warn and audit;
//! - an invalid level fails closed for enforce (`restricted`) and open for
//!   warn and audit (`privileged`); an invalid version is `latest`;
//! - warn follows enforce when the enforce label is valid and stricter than
//!   warn, and the warn label is unset (and its version too, unless the
//!   warn-version label is set);
//! - `v1.N` with N above the newest version the policy knows is `latest`,
//!   as PSA evaluates such a version with its newest checks.
//!
//! Each label that is not taken as written gets a warning naming it.

use crate::checks::{PssLevel, PssVersion};
use crate::settings::{Level, Settings};
use kubewarden_policy_sdk::host_capabilities::kubernetes::{GetResourceRequest, get_resource};
use serde::Deserialize;
use std::collections::BTreeMap;

pub const ENFORCE_LABEL: &str = "pod-security.kubernetes.io/enforce";
pub const ENFORCE_VERSION_LABEL: &str = "pod-security.kubernetes.io/enforce-version";
pub const AUDIT_LABEL: &str = "pod-security.kubernetes.io/audit";
pub const AUDIT_VERSION_LABEL: &str = "pod-security.kubernetes.io/audit-version";
pub const WARN_LABEL: &str = "pod-security.kubernetes.io/warn";
pub const WARN_VERSION_LABEL: &str = "pod-security.kubernetes.io/warn-version";
/// The level of defaults for the namespace's workloads; it wins over the
/// level the enforce label implies.
pub const DEFAULTS_LABEL: &str = "secure-pod-defaults.kubewarden.io/level";

/// What the policy reads of the Namespace the host returns: the
/// `metadata.labels` of `k8s_openapi::api::core::v1::Namespace`, in the
/// same type. The rest (annotations, managedFields, status) is skipped
/// unread: the whole k8s-openapi `Namespace`, with its timestamps and
/// managed fields, would add 170 KB to the module, which policy-server
/// compiles at every start, and allocate every annotation per request.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Namespace {
    #[serde(default)]
    pub metadata: NamespaceMetadata,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct NamespaceMetadata {
    pub labels: Option<BTreeMap<String, String>>,
}

/// A Pod Security Standards level at a version, as PSA's `LevelVersion`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelVersion {
    pub level: PssLevel,
    pub version: PssVersion,
}

impl LevelVersion {
    /// Nothing checked: PSA's default for warn and audit.
    pub const PRIVILEGED: LevelVersion = LevelVersion {
        level: PssLevel::Privileged,
        version: PssVersion::LATEST,
    };
}

/// What applies to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespacePolicy {
    /// The level the object must meet, or be rejected.
    pub enforce: LevelVersion,
    /// Violations at this level become warnings of an admitted object.
    pub warn: LevelVersion,
    /// Violations at this level go into the audit annotation.
    pub audit: LevelVersion,
    /// How far the object is defaulted.
    pub defaults: Level,
    /// Why a label was not taken as written, or why the settings apply.
    pub warnings: Vec<String>,
}

impl NamespacePolicy {
    /// The policy's settings alone: what applies to a namespace without
    /// any of the labels.
    pub fn of_settings(settings: &Settings) -> NamespacePolicy {
        NamespacePolicy {
            enforce: LevelVersion {
                level: settings.pod_security,
                version: settings.pod_security_version,
            },
            warn: LevelVersion::PRIVILEGED,
            audit: LevelVersion::PRIVILEGED,
            defaults: settings.secure_pod_defaults,
            warnings: Vec::new(),
        }
    }

    /// The settings, with a warning saying why they apply (cut short
    /// past what the API server keeps of a warning: only the reason's end
    /// is lost).
    fn of_settings_because(settings: &Settings, why: String) -> NamespacePolicy {
        let mut policy = NamespacePolicy::of_settings(settings);
        policy
            .warnings
            .push(crate::response::shorten(&why, crate::response::MAX_WARNING));
        policy
    }
}

/// The policy for a request in `namespace` (empty for a cluster-scoped
/// request), from the Namespace the host returns.
pub fn policy(settings: &Settings, namespace: &str) -> NamespacePolicy {
    policy_with(settings, namespace, get_namespace)
}

/// [`policy`] with the lookup given, so it can be tested without a host.
fn policy_with(
    settings: &Settings,
    namespace: &str,
    lookup: impl FnOnce(&str) -> Result<Namespace, String>,
) -> NamespacePolicy {
    if namespace.is_empty() {
        return NamespacePolicy::of_settings_because(
            settings,
            "the request names no namespace, so the policy's settings apply".to_owned(),
        );
    }
    match lookup(namespace) {
        Ok(found) => from_labels(namespace, found.metadata.labels.as_ref(), settings),
        Err(reason) => NamespacePolicy::of_settings_because(
            settings,
            format!(
                "namespace {} could not be read, so the policy's settings apply: {reason}",
                quote(namespace)
            ),
        ),
    }
}

/// The Namespace named `name`, from the host; or the host's reason, with a
/// hint when the deployment did not grant the lookup.
fn get_namespace(name: &str) -> Result<Namespace, String> {
    let request = GetResourceRequest {
        api_version: "v1".to_owned(),
        kind: "Namespace".to_owned(),
        name: name.to_owned(),
        namespace: None,
        // The host caches a lookup for a few seconds: a burst of pods in one
        // namespace costs the API server one read.
        disable_cache: false,
        field_masks: None,
    };
    get_resource::<Namespace>(&request).map_err(|error| with_remedy(host_reason(error)))
}

/// The host's reason, or, for the two refusals of a deployment that does
/// not grant the lookup (whose words name no remedy), what to grant.
fn with_remedy(reason: String) -> String {
    if reason.starts_with("Policy has not been granted access to Kubernetes ") {
        "the policy may not read Namespaces: its contextAwareResources must list \
         {apiVersion: v1, kind: Namespace}"
            .to_owned()
    } else if reason.starts_with("Policy has not been granted access to the ") {
        "the policy may not call kubernetes/get_resource: its host capabilities must allow it"
            .to_owned()
    } else {
        reason
    }
}

/// The host's own words for a failed call, without the wrappers the SDK
/// and the waPC layer put around them, and on one line: policy-server
/// writes its error with Rust's debug format, which goes on with the
/// causes and, when the host runs with `RUST_BACKTRACE`, a backtrace.
fn host_reason(error: kubewarden_policy_sdk::error::Error) -> String {
    use kubewarden_policy_sdk::error::Error;
    let text = match error {
        Error::HostCall { source, .. } => source.to_string(),
        // The only other failure of a lookup: an answer that is not a
        // Namespace. (The SDK's own Display of every error kind would add
        // std's I/O error texts to the module for nothing.)
        Error::Deserialization { source, .. } => {
            format!("the host's answer is not a Namespace: {source}")
        }
        _ => "the lookup failed".to_owned(),
    };
    let text = text.strip_prefix("Host error: ").unwrap_or(&text);
    let text = text
        .strip_prefix("Callback evaluation failure: ")
        .unwrap_or(text);
    text.lines()
        .next()
        .unwrap_or_default()
        .trim_end()
        .to_owned()
}

/// The policy for the namespace `name` with these labels, as PSA's
/// `PolicyToEvaluate` reads them (see the module documentation).
pub fn from_labels(
    name: &str,
    labels: Option<&BTreeMap<String, String>>,
    settings: &Settings,
) -> NamespacePolicy {
    let mut policy = NamespacePolicy::of_settings(settings);
    let Some(labels) = labels.filter(|labels| !labels.is_empty()) else {
        return policy;
    };
    let mut enforce = policy.enforce;
    let (mut warn, mut audit) = (policy.warn, policy.audit);
    let mut warnings = Vec::new();
    let mut warn_ignored = |label: &str, value: &str, allowed: &str, applies: &str| {
        warnings.push(crate::response::shorten(
            &format!(
                "namespace {}: label {label}={} must be {allowed}; {applies}",
                quote(name),
                quote(value)
            ),
            crate::response::MAX_WARNING,
        ));
    };
    const LEVELS: &str = "privileged, baseline or restricted";

    let mut has_enforce_level = false;
    let enforce_label = labels.get(ENFORCE_LABEL);
    if let Some(value) = enforce_label {
        match parse_level(value) {
            Some(level) => {
                enforce.level = level;
                has_enforce_level = true;
            }
            None => {
                // Fails closed; warn then does not follow it.
                enforce.level = PssLevel::Restricted;
                warn_ignored(ENFORCE_LABEL, value, LEVELS, "restricted applies");
            }
        }
    }
    if let Some(value) = labels.get(ENFORCE_VERSION_LABEL) {
        enforce.version = version_or_latest(value, ENFORCE_VERSION_LABEL, &mut warn_ignored);
    }
    if let Some(value) = labels.get(AUDIT_LABEL) {
        audit.level = parse_level(value).unwrap_or_else(|| {
            warn_ignored(AUDIT_LABEL, value, LEVELS, "nothing is audited");
            PssLevel::Privileged
        });
    }
    if let Some(value) = labels.get(AUDIT_VERSION_LABEL) {
        audit.version = version_or_latest(value, AUDIT_VERSION_LABEL, &mut warn_ignored);
    }
    let warn_level_label = labels.get(WARN_LABEL);
    if let Some(value) = warn_level_label {
        warn.level = parse_level(value).unwrap_or_else(|| {
            warn_ignored(WARN_LABEL, value, LEVELS, "nothing is warned");
            PssLevel::Privileged
        });
    }
    let warn_version_label = labels.get(WARN_VERSION_LABEL);
    if let Some(value) = warn_version_label {
        warn.version = version_or_latest(value, WARN_VERSION_LABEL, &mut warn_ignored);
    }
    if warn_level_label.is_none() && has_enforce_level && enforce.level > warn.level {
        warn.level = enforce.level;
        if warn_version_label.is_none() {
            warn.version = enforce.version;
        }
    }

    // The defaults: the namespace's own label, else what the enforce label
    // (as read, failing closed) needs, else the settings'.
    let defaults_label = labels
        .get(DEFAULTS_LABEL)
        .and_then(|value| match parse_defaults(value) {
            Some(level) => Some(level),
            None => {
                let applies = if enforce_label.is_some() {
                    "it is ignored, and the defaults follow the enforce level"
                } else {
                    "it is ignored, and the policy's secure_pod_defaults applies"
                };
                warn_ignored(
                    DEFAULTS_LABEL,
                    value,
                    "disabled, root-allowed or enabled",
                    applies,
                );
                None
            }
        });
    let defaults = match (defaults_label, enforce_label) {
        (Some(level), _) => level,
        (None, Some(_)) => match enforce.level {
            PssLevel::Restricted => Level::Enabled,
            PssLevel::Baseline => Level::RootAllowed,
            PssLevel::Privileged => Level::Disabled,
        },
        (None, None) => policy.defaults,
    };
    policy.enforce = enforce;
    policy.warn = warn;
    policy.audit = audit;
    policy.defaults = defaults;
    policy.warnings = warnings;
    policy
}

/// PSA's `ParseLevel`: one of the three names, exactly, as the settings'
/// `pod_security` reads them.
fn parse_level(value: &str) -> Option<PssLevel> {
    value.parse().ok()
}

/// PSA's `ParseVersion`: `latest`, or `v1.N` (`^v1\.(0|[1-9][0-9]*)$`, N an
/// int64). A version newer than the policy's newest is `latest`.
fn parse_version(value: &str) -> Option<PssVersion> {
    if value == "latest" {
        return Some(PssVersion::LATEST);
    }
    let digits = value.strip_prefix("v1.")?;
    let canonical = !digits.is_empty()
        && digits.bytes().all(|byte| byte.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if !canonical {
        return None;
    }
    let minor = digits.parse::<i64>().ok()?;
    Some(match u32::try_from(minor) {
        Ok(minor) if minor <= PssVersion::NEWEST_MINOR => PssVersion::v1(minor),
        _ => PssVersion::LATEST,
    })
}

/// The version a label names; `latest` with a warning when it names none.
fn version_or_latest(
    value: &str,
    label: &str,
    warn_ignored: &mut impl FnMut(&str, &str, &str, &str),
) -> PssVersion {
    parse_version(value).unwrap_or_else(|| {
        warn_ignored(label, value, "latest or v1.N", "latest applies");
        PssVersion::LATEST
    })
}

/// The defaults label: a level of `secure_pod_defaults`, exactly.
fn parse_defaults(value: &str) -> Option<Level> {
    match value {
        "disabled" => Some(Level::Disabled),
        "root-allowed" => Some(Level::RootAllowed),
        "enabled" => Some(Level::Enabled),
        _ => None,
    }
}

/// A name or value in double quotes, escaped as JSON so that the warning
/// stays one line whatever the host returned.
fn quote(text: &str) -> String {
    serde_json::to_string(text).expect("strings are always written as JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            secure_pod_defaults: Level::RootAllowed,
            pod_security: PssLevel::Baseline,
            pod_security_version: PssVersion::v1(30),
            namespace_labels: true,
            ..Settings::default()
        }
    }

    fn labelled(labels: &[(&str, &str)]) -> NamespacePolicy {
        let labels: BTreeMap<String, String> = labels
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        from_labels("team-a", Some(&labels), &settings())
    }

    fn at(level: PssLevel, version: PssVersion) -> LevelVersion {
        LevelVersion { level, version }
    }

    use PssLevel::{Baseline, Privileged, Restricted};
    const LATEST: PssVersion = PssVersion::LATEST;

    #[test]
    fn no_labels_mean_the_settings() {
        let expected = NamespacePolicy::of_settings(&settings());
        assert_eq!(labelled(&[]), expected);
        assert_eq!(labelled(&[("team", "a")]), expected);
        assert_eq!(from_labels("team-a", None, &settings()), expected);
        assert_eq!(expected.enforce, at(Baseline, PssVersion::v1(30)));
        assert_eq!(expected.defaults, Level::RootAllowed);
        assert_eq!(expected.warn, LevelVersion::PRIVILEGED);
        assert_eq!(expected.audit, LevelVersion::PRIVILEGED);
    }

    #[test]
    fn enforce_sets_the_level_the_defaults_and_the_warnings() {
        let policy = labelled(&[(ENFORCE_LABEL, "restricted")]);
        // The version stays the settings', as PSA keeps its default.
        assert_eq!(policy.enforce, at(Restricted, PssVersion::v1(30)));
        assert_eq!(policy.warn, policy.enforce);
        assert_eq!(policy.audit, LevelVersion::PRIVILEGED);
        assert_eq!(policy.defaults, Level::Enabled);
        assert!(policy.warnings.is_empty());

        let policy = labelled(&[
            (ENFORCE_LABEL, "baseline"),
            (ENFORCE_VERSION_LABEL, "v1.25"),
        ]);
        assert_eq!(policy.enforce, at(Baseline, PssVersion::v1(25)));
        assert_eq!(policy.warn, policy.enforce);
        assert_eq!(policy.defaults, Level::RootAllowed);

        let policy = labelled(&[(ENFORCE_LABEL, "privileged")]);
        assert_eq!(policy.enforce.level, Privileged);
        assert_eq!(policy.warn, LevelVersion::PRIVILEGED);
        assert_eq!(policy.defaults, Level::Disabled);
    }

    #[test]
    fn warn_follows_enforce_only_when_unset_and_less_strict() {
        let policy = labelled(&[
            (ENFORCE_LABEL, "baseline"),
            (ENFORCE_VERSION_LABEL, "v1.25"),
            (WARN_VERSION_LABEL, "latest"),
        ]);
        assert_eq!(policy.warn, at(Baseline, LATEST));

        let policy = labelled(&[(ENFORCE_LABEL, "baseline"), (WARN_LABEL, "restricted")]);
        assert_eq!(policy.warn, at(Restricted, LATEST));
        assert_eq!(policy.defaults, Level::RootAllowed);

        // A warn label, even privileged, is the user's choice.
        let policy = labelled(&[(ENFORCE_LABEL, "restricted"), (WARN_LABEL, "privileged")]);
        assert_eq!(policy.warn, LevelVersion::PRIVILEGED);

        // The settings' enforce level is a default, not a label: no warn.
        let policy = labelled(&[(ENFORCE_VERSION_LABEL, "v1.20")]);
        assert_eq!(policy.enforce, at(Baseline, PssVersion::v1(20)));
        assert_eq!(policy.warn, LevelVersion::PRIVILEGED);
        assert_eq!(policy.defaults, Level::RootAllowed);
    }

    #[test]
    fn audit_and_warn_alone_keep_the_settings_for_the_rest() {
        let policy = labelled(&[(AUDIT_LABEL, "restricted"), (AUDIT_VERSION_LABEL, "v1.22")]);
        assert_eq!(policy.audit, at(Restricted, PssVersion::v1(22)));
        assert_eq!(policy.enforce, at(Baseline, PssVersion::v1(30)));
        assert_eq!(policy.warn, LevelVersion::PRIVILEGED);
        assert_eq!(policy.defaults, Level::RootAllowed);
        let policy = labelled(&[(WARN_LABEL, "restricted")]);
        assert_eq!(policy.warn, at(Restricted, LATEST));
        assert_eq!(policy.enforce, at(Baseline, PssVersion::v1(30)));
    }

    #[test]
    fn the_defaults_label_wins() {
        let policy = labelled(&[
            (ENFORCE_LABEL, "restricted"),
            (DEFAULTS_LABEL, "root-allowed"),
        ]);
        assert_eq!(policy.defaults, Level::RootAllowed);
        assert_eq!(policy.enforce.level, Restricted);
        let policy = labelled(&[(DEFAULTS_LABEL, "disabled")]);
        assert_eq!(policy.defaults, Level::Disabled);
        assert_eq!(policy.enforce, at(Baseline, PssVersion::v1(30)));
        let policy = labelled(&[(ENFORCE_LABEL, "privileged"), (DEFAULTS_LABEL, "enabled")]);
        assert_eq!(policy.defaults, Level::Enabled);
    }

    #[test]
    fn invalid_values_fail_closed_for_enforce_and_open_for_the_rest() {
        let policy = labelled(&[
            (ENFORCE_LABEL, "Restricted"),
            (ENFORCE_VERSION_LABEL, "1.30"),
            (AUDIT_LABEL, "all"),
            (AUDIT_VERSION_LABEL, "v1.025"),
            (WARN_LABEL, ""),
            (WARN_VERSION_LABEL, "v2.0"),
            (DEFAULTS_LABEL, "on"),
        ]);
        assert_eq!(policy.enforce, at(Restricted, LATEST));
        assert_eq!(policy.audit, LevelVersion::PRIVILEGED);
        assert_eq!(policy.warn, LevelVersion::PRIVILEGED);
        // Warn does not follow an enforce level that failed closed.
        assert_eq!(policy.defaults, Level::Enabled);
        assert_eq!(
            policy.warnings,
            [
                "namespace \"team-a\": label pod-security.kubernetes.io/enforce=\"Restricted\" must be privileged, baseline or restricted; restricted applies",
                "namespace \"team-a\": label pod-security.kubernetes.io/enforce-version=\"1.30\" must be latest or v1.N; latest applies",
                "namespace \"team-a\": label pod-security.kubernetes.io/audit=\"all\" must be privileged, baseline or restricted; nothing is audited",
                "namespace \"team-a\": label pod-security.kubernetes.io/audit-version=\"v1.025\" must be latest or v1.N; latest applies",
                "namespace \"team-a\": label pod-security.kubernetes.io/warn=\"\" must be privileged, baseline or restricted; nothing is warned",
                "namespace \"team-a\": label pod-security.kubernetes.io/warn-version=\"v2.0\" must be latest or v1.N; latest applies",
                "namespace \"team-a\": label secure-pod-defaults.kubewarden.io/level=\"on\" must be disabled, root-allowed or enabled; it is ignored, and the defaults follow the enforce level",
            ]
        );
        let policy = labelled(&[(DEFAULTS_LABEL, "Enabled")]);
        assert_eq!(policy.defaults, Level::RootAllowed);
        assert!(policy.warnings[0].ends_with("the policy's secure_pod_defaults applies"));
    }

    #[test]
    fn versions_are_read_as_psa_reads_them() {
        for (text, version) in [
            ("latest", Some(LATEST)),
            ("v1.0", Some(PssVersion::v1(0))),
            ("v1.37", Some(PssVersion::v1(37))),
            // Newer than the policy knows: its newest checks, as `latest`.
            ("v1.38", Some(LATEST)),
            ("v1.4294967296", Some(LATEST)),
            ("v1.9223372036854775807", Some(LATEST)),
            ("v1.9223372036854775808", None),
            ("v1.", None),
            ("v1.01", None),
            ("v1.3a", None),
            ("1.30", None),
            ("v1.+3", None),
            ("Latest", None),
        ] {
            assert_eq!(parse_version(text), version, "{text}");
        }
    }

    #[test]
    fn the_host_reason_is_its_first_line_without_the_wrappers() {
        use kubewarden_policy_sdk::error::Error;
        let failed = |text: &str| Error::HostCall {
            operation: "kubernetes.get_resource".to_owned(),
            source: text.to_owned().into(),
        };
        assert_eq!(
            host_reason(failed(
                "Host error: Callback evaluation failure: Cannot find v1/Namespace named 'a'\n\n\
                 Stack backtrace:\n   0: <unknown>"
            )),
            "Cannot find v1/Namespace named 'a'"
        );
        assert_eq!(
            host_reason(failed("Host error: Policy has not been granted access")),
            "Policy has not been granted access"
        );
        assert_eq!(host_reason(failed("")), "");
        let unreadable = serde_json::from_str::<Namespace>("[").unwrap_err();
        assert_eq!(
            host_reason(Error::Deserialization {
                context: "get resource response".to_owned(),
                source: unreadable,
            }),
            "the host's answer is not a Namespace: EOF while parsing a list at line 1 column 1"
        );
    }

    #[test]
    fn a_lookup_the_deployment_does_not_grant_says_what_to_grant() {
        // policy-server's words for each refusal.
        assert_eq!(
            with_remedy(
                "Policy has not been granted access to Kubernetes v1/Namespace resources. The \
                 violation has been reported."
                    .to_owned()
            ),
            "the policy may not read Namespaces: its contextAwareResources must list \
             {apiVersion: v1, kind: Namespace}"
        );
        assert_eq!(
            with_remedy(
                "Policy has not been granted access to the 'kubernetes/get_resource' host \
                 capability. The violation has been reported."
                    .to_owned()
            ),
            "the policy may not call kubernetes/get_resource: its host capabilities must allow it"
        );
        assert_eq!(with_remedy("timeout".to_owned()), "timeout");
    }

    #[test]
    fn a_failed_lookup_leaves_the_settings_with_a_warning() {
        let policy = policy_with(&settings(), "team-a", |_| {
            Err("Cannot find v1/Namespace named 'team-a' inside of namespace 'None'".into())
        });
        assert_eq!(policy.enforce, at(Baseline, PssVersion::v1(30)));
        assert_eq!(
            policy.warnings,
            [
                "namespace \"team-a\" could not be read, so the policy's settings apply: Cannot \
              find v1/Namespace named 'team-a' inside of namespace 'None'"
            ]
        );
        let policy = policy_with(&settings(), "", |_| unreachable!("no lookup"));
        assert_eq!(
            policy.warnings,
            ["the request names no namespace, so the policy's settings apply"]
        );
        let found = policy_with(&settings(), "team-a", |_| {
            Ok(serde_json::from_str(
                r#"{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a",
                "labels": {"pod-security.kubernetes.io/enforce": "restricted"},
                "annotations": {"a": "b"}, "creationTimestamp": "2025-01-01T00:00:00Z",
                "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:metadata": {}}}]},
                "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}"#,
            )
            .unwrap())
        });
        assert_eq!(found.enforce.level, Restricted);
        assert!(found.warnings.is_empty());
        let unlabelled = policy_with(&settings(), "team-a", |_| {
            Ok(
                serde_json::from_str(r#"{"metadata": {"name": "team-a", "labels": null}}"#)
                    .unwrap(),
            )
        });
        assert_eq!(unlabelled, NamespacePolicy::of_settings(&settings()));
    }
}
