//! What stays insecure after defaulting, because the user set it.
//!
//! Defaulting never changes a field the user set, so a container that adds
//! capabilities without dropping ALL, a pod with `runAsNonRoot: false` or an
//! `Unconfined` seccomp profile stays as it is. Knative says nothing about
//! these; we say it, in a warning, for the fields the level governs.

use crate::podspec::seccomp_profile_type;
use crate::settings::Level;
use k8s_openapi::api::core::v1::{PodSecurityContext, SecurityContext};

/// The insecure values of one container after defaulting, as
/// `field=value` texts, in a fixed order.
pub fn container_findings(
    level: Level,
    pod_security_context: Option<&PodSecurityContext>,
    windows: bool,
    security_context: Option<&SecurityContext>,
) -> Vec<String> {
    let mut findings = Vec::new();
    if level == Level::Disabled {
        return findings;
    }
    if !windows {
        if security_context.and_then(|context| context.privileged) == Some(true) {
            findings.push("privileged=true".to_owned());
        }
        match security_context.and_then(|context| context.allow_privilege_escalation) {
            None => findings.push("allowPrivilegeEscalation unset".to_owned()),
            Some(false) => {}
            Some(true) => findings.push("allowPrivilegeEscalation=true".to_owned()),
        }
        let container_seccomp = seccomp_profile_type(
            security_context.and_then(|context| context.seccomp_profile.as_ref()),
        );
        let pod_seccomp =
            seccomp_profile_type(pod_security_context.and_then(|pod| pod.seccomp_profile.as_ref()));
        if container_seccomp.or(pod_seccomp) == Some("Unconfined") {
            findings.push("seccompProfile=Unconfined".to_owned());
        }
        let capabilities = security_context.and_then(|context| context.capabilities.as_ref());
        let dropped = capabilities.and_then(|capabilities| capabilities.drop.as_deref());
        if !dropped.unwrap_or_default().iter().any(|name| name == "ALL") {
            findings.push("capabilities.drop without ALL".to_owned());
        }
        let added = capabilities.and_then(|capabilities| capabilities.add.as_deref());
        let unsafe_added: Vec<&str> = added
            .unwrap_or_default()
            .iter()
            .map(String::as_str)
            .filter(|name| *name != "NET_BIND_SERVICE")
            .collect();
        if !unsafe_added.is_empty() {
            findings.push(format!("capabilities.add=[{}]", unsafe_added.join(",")));
        }
    }
    if level == Level::Enabled {
        let run_as_non_root = security_context
            .and_then(|context| context.run_as_non_root)
            .or_else(|| pod_security_context.and_then(|pod| pod.run_as_non_root));
        if run_as_non_root == Some(false) {
            findings.push("runAsNonRoot=false".to_owned());
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn findings(level: Level, pod: serde_json::Value, container: serde_json::Value) -> Vec<String> {
        let pod: Option<PodSecurityContext> = serde_json::from_value(pod).unwrap();
        let container: Option<SecurityContext> = serde_json::from_value(container).unwrap();
        container_findings(level, pod.as_ref(), false, container.as_ref())
    }

    #[test]
    fn a_defaulted_container_has_none() {
        let defaulted = json!({"allowPrivilegeEscalation": false, "seccompProfile": {"type": "RuntimeDefault"},
                               "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}, "runAsNonRoot": true});
        assert!(findings(Level::Enabled, serde_json::Value::Null, defaulted).is_empty());
    }

    #[test]
    fn user_values_that_stay_insecure_are_listed() {
        let pod = json!({"seccompProfile": {"type": "Unconfined"}, "runAsNonRoot": false});
        let container =
            json!({"privileged": true, "capabilities": {"add": ["SYS_ADMIN", "NET_BIND_SERVICE"]}});
        assert_eq!(
            findings(Level::Enabled, pod.clone(), container.clone()),
            vec![
                "privileged=true",
                "allowPrivilegeEscalation unset",
                "seccompProfile=Unconfined",
                "capabilities.drop without ALL",
                "capabilities.add=[SYS_ADMIN]",
                "runAsNonRoot=false"
            ]
        );
        assert_eq!(
            findings(Level::RootAllowed, pod.clone(), container.clone()).len(),
            5
        );
        assert!(findings(Level::Disabled, pod, container).is_empty());
    }

    #[test]
    fn a_container_value_overrides_the_pod_value() {
        let pod = json!({"seccompProfile": {"type": "Unconfined"}, "runAsNonRoot": false});
        let container = json!({"allowPrivilegeEscalation": false, "seccompProfile": {"type": "RuntimeDefault"},
                               "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": true});
        assert!(findings(Level::Enabled, pod, container).is_empty());
    }

    #[test]
    fn windows_containers_are_judged_on_run_as_non_root_only() {
        let pod = json!({"runAsNonRoot": false});
        assert_eq!(
            container_findings(
                Level::Enabled,
                Some(&serde_json::from_value(pod).unwrap()),
                true,
                None
            ),
            vec!["runAsNonRoot=false"]
        );
    }
}
