//! The three levels of secure pod defaults, one short function per field
//! rule, after Knative Serving's `defaultSecurityContext`
//! (`pkg/apis/serving/v1/revision_defaults.go`).
//!
//! Every rule writes a field only when it is unset (missing or `null`): a
//! field set to any value is the user's intent and is never changed. The
//! pod-level securityContext is only read, except for the optional
//! `run_as_user` / `run_as_group` defaults, which belong to the pod.
//!
//! Two places where we differ from Knative on purpose, because Knative's
//! output is refused by the API server:
//! - `allowPrivilegeEscalation: false` is not written on a container that is
//!   `privileged: true` or adds `CAP_SYS_ADMIN`;
//! - a Windows pod (`spec.os.name: windows`) gets no Linux-only field, only
//!   `runAsNonRoot`.

use crate::podspec::seccomp_profile_type;
use crate::settings::{Level, Settings};
use k8s_openapi::api::core::v1::{
    Capabilities, PodSecurityContext, SeccompProfile, SecurityContext,
};

/// One field a rule wrote, for the warning that tells the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Defaulted {
    AllowPrivilegeEscalation,
    SeccompProfile,
    CapabilitiesDrop,
    CapabilitiesAddNetBindService,
    RunAsNonRoot,
    ReadOnlyRootFilesystem,
    RunAsUser(i64),
    RunAsGroup(i64),
    /// The pod sysctl `net.ipv4.ip_unprivileged_port_start`, set to this port.
    UnprivilegedPortStart(i32),
}

/// The sysctl that lets a non-root process bind ports from its value up.
pub const UNPRIVILEGED_PORT_START: &str = "net.ipv4.ip_unprivileged_port_start";

impl Defaulted {
    /// `field=value`, as a warning shows it.
    pub fn describe(self) -> Described {
        Described(self)
    }

    /// The field alone, for a warning that must be short.
    pub fn field(self) -> &'static str {
        match self {
            Defaulted::AllowPrivilegeEscalation => "allowPrivilegeEscalation",
            Defaulted::SeccompProfile => "seccompProfile",
            Defaulted::CapabilitiesDrop => "capabilities",
            Defaulted::CapabilitiesAddNetBindService => "capabilities.add",
            Defaulted::RunAsNonRoot => "runAsNonRoot",
            Defaulted::ReadOnlyRootFilesystem => "readOnlyRootFilesystem",
            Defaulted::RunAsUser(_) => "runAsUser",
            Defaulted::RunAsGroup(_) => "runAsGroup",
            Defaulted::UnprivilegedPortStart(_) => "sysctls",
        }
    }
}

/// A defaulted field written as `field=value`.
pub struct Described(Defaulted);

impl Described {
    /// The text, for all but the identity fields, which carry a number.
    pub fn fixed(&self) -> Option<&'static str> {
        Some(match self.0 {
            Defaulted::AllowPrivilegeEscalation => "allowPrivilegeEscalation=false",
            Defaulted::SeccompProfile => "seccompProfile=RuntimeDefault",
            Defaulted::CapabilitiesDrop => "capabilities.drop=[ALL]",
            Defaulted::CapabilitiesAddNetBindService => "capabilities.add=[NET_BIND_SERVICE]",
            Defaulted::RunAsNonRoot => "runAsNonRoot=true",
            Defaulted::ReadOnlyRootFilesystem => "readOnlyRootFilesystem=true",
            Defaulted::RunAsUser(_)
            | Defaulted::RunAsGroup(_)
            | Defaulted::UnprivilegedPortStart(_) => return None,
        })
    }
}

impl std::fmt::Display for Described {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Defaulted::RunAsUser(uid) => write!(f, "runAsUser={uid}"),
            Defaulted::RunAsGroup(gid) => write!(f, "runAsGroup={gid}"),
            Defaulted::UnprivilegedPortStart(port) => {
                write!(f, "sysctl {UNPRIVILEGED_PORT_START}={port}")
            }
            _ => f.write_str(self.fixed().unwrap_or_default()),
        }
    }
}

/// What a container's rules need to know about its pod.
pub struct PodFacts<'a> {
    pub security_context: Option<&'a PodSecurityContext>,
    pub windows: bool,
    /// Pod-level defaults cannot be written (Knative kinds), so
    /// `run_as_user` / `run_as_group` go on each container.
    pub identity_on_containers: bool,
}

/// What a container's rules need to know beyond its securityContext.
pub struct ContainerFacts {
    /// It declares a `containerPort` below 1024.
    pub binds_low_port: bool,
    /// `runAsNonRoot: true` may be written where its rule writes it; false
    /// where the container would then not start, or may not (see
    /// [`crate::images`]).
    pub non_root_verified: bool,
}

/// Applies every rule of `settings` to one container's securityContext
/// (`security_context` starts empty when the container has none) and returns
/// the fields written, in the order they were written.
pub fn default_container(
    settings: &Settings,
    pod: &PodFacts,
    container: &ContainerFacts,
    security_context: &mut SecurityContext,
) -> Vec<Defaulted> {
    let mut defaulted = Vec::new();
    let level = settings.secure_pod_defaults;
    let linux = !pod.windows;

    if level != Level::Disabled && linux {
        defaulted.extend(allow_privilege_escalation(security_context));
        defaulted.extend(seccomp_profile(pod.security_context, security_context));
        // Under strict_capabilities no container may add anything, so the
        // default must not add NET_BIND_SERVICE either.
        let low_ports_allowed = !settings.strict_capabilities;
        defaulted.extend(capabilities(
            container.binds_low_port && low_ports_allowed,
            security_context,
        ));
    }
    if level == Level::Enabled && container.non_root_verified {
        defaulted.extend(run_as_non_root(pod.security_context, security_context));
    }
    if settings.read_only_root_filesystem && linux {
        defaulted.extend(read_only_root_filesystem(security_context));
    }
    if pod.identity_on_containers && linux {
        let pod_identity = pod
            .security_context
            .map(|pod| (pod.run_as_user, pod.run_as_group));
        defaulted.extend(identity(
            settings,
            pod_identity.unwrap_or_default(),
            &mut security_context.run_as_user,
            &mut security_context.run_as_group,
        ));
    }
    defaulted
}

/// `allowPrivilegeEscalation: false` if unset, except where the API server
/// would refuse the pair: a privileged container, or one adding
/// `CAP_SYS_ADMIN` (the exact string its validation compares).
fn allow_privilege_escalation(security_context: &mut SecurityContext) -> Option<Defaulted> {
    if security_context.allow_privilege_escalation.is_some() {
        return None;
    }
    let privileged = security_context.privileged == Some(true);
    let adds_sys_admin = security_context
        .capabilities
        .as_ref()
        .and_then(|capabilities| capabilities.add.as_ref())
        .is_some_and(|added| added.iter().any(|name| name == "CAP_SYS_ADMIN"));
    if privileged || adds_sys_admin {
        return None;
    }
    security_context.allow_privilege_escalation = Some(false);
    Some(Defaulted::AllowPrivilegeEscalation)
}

/// `seccompProfile.type: RuntimeDefault` on the container unless the pod or
/// the container sets a type. A profile present with an empty type gets the
/// type and keeps its other keys.
fn seccomp_profile(
    pod_security_context: Option<&PodSecurityContext>,
    security_context: &mut SecurityContext,
) -> Option<Defaulted> {
    let pod_profile = pod_security_context.and_then(|pod| pod.seccomp_profile.as_ref());
    if seccomp_profile_type(pod_profile).is_some()
        || seccomp_profile_type(security_context.seccomp_profile.as_ref()).is_some()
    {
        return None;
    }
    let profile = security_context
        .seccomp_profile
        .get_or_insert_with(SeccompProfile::default);
    profile.type_ = RUNTIME_DEFAULT.to_owned();
    Some(Defaulted::SeccompProfile)
}

const RUNTIME_DEFAULT: &str = "RuntimeDefault";

/// When `capabilities` is unset: drop ALL, and add NET_BIND_SERVICE back for a
/// container that declares a port below 1024 (never under
/// `strict_capabilities`). A `capabilities` object in any
/// form (`{}`, only `add`, `drop: []`) is the user's and is kept.
fn capabilities(
    add_net_bind_service: bool,
    security_context: &mut SecurityContext,
) -> Vec<Defaulted> {
    if security_context.capabilities.is_some() {
        return Vec::new();
    }
    let mut defaulted = vec![Defaulted::CapabilitiesDrop];
    let mut capabilities = Capabilities {
        drop: Some(vec!["ALL".to_owned()]),
        add: None,
    };
    if add_net_bind_service {
        capabilities.add = Some(vec!["NET_BIND_SERVICE".to_owned()]);
        defaulted.push(Defaulted::CapabilitiesAddNetBindService);
    }
    security_context.capabilities = Some(capabilities);
    defaulted
}

/// `runAsNonRoot: true` on the container when neither the pod nor the
/// container sets it (`enabled` only). `runAsUser`, even 0, does not matter,
/// unless `run_as_non_root_from_image` asks (see [`ContainerFacts`]).
fn run_as_non_root(
    pod_security_context: Option<&PodSecurityContext>,
    security_context: &mut SecurityContext,
) -> Option<Defaulted> {
    if !run_as_non_root_unset(pod_security_context, security_context) {
        return None;
    }
    security_context.run_as_non_root = Some(true);
    Some(Defaulted::RunAsNonRoot)
}

/// Neither the pod nor the container sets `runAsNonRoot`.
pub fn run_as_non_root_unset(
    pod_security_context: Option<&PodSecurityContext>,
    security_context: &SecurityContext,
) -> bool {
    let pod_sets_it = pod_security_context.is_some_and(|pod| pod.run_as_non_root.is_some());
    !pod_sets_it && security_context.run_as_non_root.is_none()
}

/// The `runAsUser` a container runs with once defaulted: its own, else its
/// pod's, else the fixed identity's where it is written on containers.
pub fn effective_run_as_user(
    settings: &Settings,
    pod: &PodFacts,
    security_context: &SecurityContext,
) -> Option<i64> {
    let identity_written_here = pod.identity_on_containers && !pod.windows;
    security_context
        .run_as_user
        .or_else(|| pod.security_context.and_then(|pod| pod.run_as_user))
        .or(settings.run_as_user.filter(|_| identity_written_here))
}

/// `readOnlyRootFilesystem: true` if unset (the optional extra default).
fn read_only_root_filesystem(security_context: &mut SecurityContext) -> Option<Defaulted> {
    if security_context.read_only_root_filesystem.is_some() {
        return None;
    }
    security_context.read_only_root_filesystem = Some(true);
    Some(Defaulted::ReadOnlyRootFilesystem)
}

/// The optional fixed identity (`run_as_user`, `run_as_group`): written into
/// `run_as_user` / `run_as_group` (of a container, or of the pod itself)
/// where neither they nor the pod's (`pod_identity`) are set.
pub fn identity(
    settings: &Settings,
    pod_identity: (Option<i64>, Option<i64>),
    run_as_user: &mut Option<i64>,
    run_as_group: &mut Option<i64>,
) -> Vec<Defaulted> {
    let mut defaulted = Vec::new();
    if let Some(uid) = settings.run_as_user
        && pod_identity.0.is_none()
        && run_as_user.is_none()
    {
        *run_as_user = Some(uid);
        defaulted.push(Defaulted::RunAsUser(uid));
    }
    if let Some(gid) = settings.run_as_group
        && pod_identity.1.is_none()
        && run_as_group.is_none()
    {
        *run_as_group = Some(gid);
        defaulted.push(Defaulted::RunAsGroup(gid));
    }
    defaulted
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(level: Level) -> Settings {
        Settings {
            secure_pod_defaults: level,
            ..Settings::default()
        }
    }

    fn linux_pod(security_context: Option<&PodSecurityContext>) -> PodFacts<'_> {
        PodFacts {
            security_context,
            windows: false,
            identity_on_containers: false,
        }
    }

    fn object(value: serde_json::Value) -> PodSecurityContext {
        serde_json::from_value(value).unwrap()
    }

    fn run(
        settings: &Settings,
        pod: &PodFacts,
        ports: &[i64],
        container: serde_json::Value,
    ) -> (serde_json::Value, Vec<Defaulted>) {
        let mut security_context: SecurityContext = serde_json::from_value(container).unwrap();
        let facts = ContainerFacts {
            binds_low_port: ports.iter().any(|port| *port < 1024),
            non_root_verified: true,
        };
        let defaulted = default_container(settings, pod, &facts, &mut security_context);
        (serde_json::to_value(&security_context).unwrap(), defaulted)
    }

    #[test]
    fn disabled_writes_nothing() {
        let (result, defaulted) = run(
            &settings(Level::Disabled),
            &linux_pod(None),
            &[80],
            json!({}),
        );
        assert_eq!(result, json!({}));
        assert!(defaulted.is_empty());
    }

    #[test]
    fn root_allowed_writes_the_three_linux_defaults() {
        let (result, defaulted) = run(
            &settings(Level::RootAllowed),
            &linux_pod(None),
            &[8080],
            json!({}),
        );
        assert_eq!(
            result,
            json!({"allowPrivilegeEscalation": false, "seccompProfile": {"type": "RuntimeDefault"},
                   "capabilities": {"drop": ["ALL"]}})
        );
        assert_eq!(
            defaulted,
            vec![
                Defaulted::AllowPrivilegeEscalation,
                Defaulted::SeccompProfile,
                Defaulted::CapabilitiesDrop
            ]
        );
    }

    #[test]
    fn enabled_adds_run_as_non_root_and_low_ports_keep_net_bind_service() {
        let (result, _) = run(
            &settings(Level::Enabled),
            &linux_pod(None),
            &[8080, 443],
            json!({}),
        );
        assert_eq!(
            result,
            json!({"allowPrivilegeEscalation": false, "seccompProfile": {"type": "RuntimeDefault"},
                   "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
                   "runAsNonRoot": true})
        );
    }

    #[test]
    fn set_fields_are_never_changed() {
        let container = json!({"allowPrivilegeEscalation": true, "seccompProfile": {"type": "Unconfined"},
                               "capabilities": {}, "runAsNonRoot": false});
        let (result, defaulted) = run(
            &settings(Level::Enabled),
            &linux_pod(None),
            &[80],
            container.clone(),
        );
        assert_eq!(result, container);
        assert!(defaulted.is_empty());
    }

    #[test]
    fn pod_level_values_stop_container_defaults() {
        let pod_context =
            object(json!({"seccompProfile": {"type": "Unconfined"}, "runAsNonRoot": false}));
        let (result, _) = run(
            &settings(Level::Enabled),
            &linux_pod(Some(&pod_context)),
            &[],
            json!({}),
        );
        assert_eq!(
            result,
            json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}})
        );
    }

    #[test]
    fn an_empty_seccomp_type_is_filled_and_other_keys_kept() {
        let pod_context = object(json!({"seccompProfile": {"type": ""}}));
        let (result, _) = run(
            &settings(Level::RootAllowed),
            &linux_pod(Some(&pod_context)),
            &[],
            json!({"seccompProfile": {"type": "", "localhostProfile": "p.json"}, "capabilities": null}),
        );
        assert_eq!(
            result["seccompProfile"],
            json!({"type": "RuntimeDefault", "localhostProfile": "p.json"})
        );
        // (In the request's text the profile's other keys, known or not, are
        // kept too: the edit replaces only its type; see `edits`.)
        assert_eq!(result["capabilities"], json!({"drop": ["ALL"]}));
    }

    #[test]
    fn no_allow_privilege_escalation_false_where_the_api_server_refuses_it() {
        for container in [
            json!({"privileged": true}),
            json!({"capabilities": {"add": ["CAP_SYS_ADMIN"]}}),
        ] {
            let (result, defaulted) = run(
                &settings(Level::RootAllowed),
                &linux_pod(None),
                &[],
                container,
            );
            assert!(result.get("allowPrivilegeEscalation").is_none(), "{result}");
            assert!(!defaulted.contains(&Defaulted::AllowPrivilegeEscalation));
        }
    }

    #[test]
    fn windows_pods_get_only_run_as_non_root() {
        let pod = PodFacts {
            security_context: None,
            windows: true,
            identity_on_containers: true,
        };
        let all_extras = Settings {
            secure_pod_defaults: Level::Enabled,
            run_as_user: Some(65534),
            run_as_group: Some(65534),
            read_only_root_filesystem: true,
            ..Settings::default()
        };
        let (result, _) = run(&all_extras, &pod, &[80], json!({}));
        assert_eq!(result, json!({"runAsNonRoot": true}));
    }

    #[test]
    fn extras_layer_on_any_level() {
        let extras = Settings {
            secure_pod_defaults: Level::Disabled,
            run_as_user: Some(65534),
            run_as_group: Some(1000),
            read_only_root_filesystem: true,
            ..Settings::default()
        };
        let pod = PodFacts {
            security_context: None,
            windows: false,
            identity_on_containers: true,
        };
        let (result, defaulted) = run(&extras, &pod, &[], json!({"runAsGroup": 5}));
        assert_eq!(
            result,
            json!({"readOnlyRootFilesystem": true, "runAsUser": 65534, "runAsGroup": 5})
        );
        assert_eq!(
            defaulted,
            vec![
                Defaulted::ReadOnlyRootFilesystem,
                Defaulted::RunAsUser(65534)
            ]
        );
    }

    #[test]
    fn strict_capabilities_never_add_net_bind_service() {
        let strict = Settings {
            strict_capabilities: true,
            ..Settings::default()
        };
        let (result, _) = run(&strict, &linux_pod(None), &[80], json!({}));
        assert_eq!(result["capabilities"], json!({"drop": ["ALL"]}));
    }

    #[test]
    fn an_unverified_container_gets_no_run_as_non_root() {
        let mut security_context = SecurityContext::default();
        let facts = ContainerFacts {
            binds_low_port: false,
            non_root_verified: false,
        };
        let defaulted = default_container(
            &settings(Level::Enabled),
            &linux_pod(None),
            &facts,
            &mut security_context,
        );
        assert!(!defaulted.contains(&Defaulted::RunAsNonRoot));
        assert_eq!(security_context.run_as_non_root, None);
        assert_eq!(defaulted.len(), 3);
    }

    #[test]
    fn the_effective_run_as_user_counts_the_identity_where_it_is_written() {
        let identity = Settings {
            run_as_user: Some(65534),
            ..Settings::default()
        };
        let pod_context = object(json!({"runAsUser": 1000}));
        let empty = SecurityContext::default();
        let own = SecurityContext {
            run_as_user: Some(0),
            ..SecurityContext::default()
        };
        let knative = PodFacts {
            security_context: None,
            windows: false,
            identity_on_containers: true,
        };
        assert_eq!(
            effective_run_as_user(&identity, &knative, &empty),
            Some(65534)
        );
        assert_eq!(effective_run_as_user(&identity, &knative, &own), Some(0));
        assert_eq!(
            effective_run_as_user(&identity, &linux_pod(Some(&pod_context)), &empty),
            Some(1000)
        );
        // On other kinds the identity is the pod's, already in its context.
        assert_eq!(
            effective_run_as_user(&identity, &linux_pod(None), &empty),
            None
        );
    }

    #[test]
    fn identity_is_not_written_under_a_pod_value() {
        let extras = Settings {
            run_as_user: Some(65534),
            ..Settings::default()
        };
        let (mut run_as_user, mut run_as_group) = (None, None);
        let written = identity(
            &extras,
            (Some(1000), None),
            &mut run_as_user,
            &mut run_as_group,
        );
        assert!(written.is_empty());
        assert_eq!(run_as_user, None);
    }
}
