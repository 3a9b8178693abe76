//! What stays insecure after defaulting, because the user set it.
//!
//! Defaulting never changes a field the user set, so a container that adds
//! capabilities without dropping ALL, a pod with `runAsNonRoot: false` or an
//! `Unconfined` seccomp profile stays as it is. Knative says nothing about
//! these; we say it, in a warning, for the fields the level governs.

use crate::podspec::{Fields, seccomp_profile_type};
use crate::settings::Level;
use crate::value::{Map, Value};

/// The insecure values of one container after defaulting, as
/// `field=value` texts, in a fixed order.
pub fn container_findings(
    level: Level,
    pod_security_context: Option<&Map>,
    windows: bool,
    security_context: Option<&Map>,
) -> Vec<String> {
    let mut findings = Vec::new();
    if level == Level::Disabled {
        return findings;
    }
    if !windows {
        if security_context.bool_field("privileged") == Some(true) {
            findings.push("privileged=true".to_string());
        }
        match security_context.field("allowPrivilegeEscalation") {
            None => findings.push("allowPrivilegeEscalation unset".to_string()),
            Some(Value::Bool(false)) => {}
            Some(other) => findings.push(format!("allowPrivilegeEscalation={other}")),
        }
        let effective_seccomp = seccomp_profile_type(security_context)
            .or_else(|| seccomp_profile_type(pod_security_context));
        if effective_seccomp == Some("Unconfined") {
            findings.push("seccompProfile=Unconfined".to_string());
        }
        let capabilities = security_context.object_field("capabilities");
        if !capabilities.lists("drop", "ALL") {
            findings.push("capabilities.drop without ALL".to_string());
        }
        let mut added = String::new();
        for capability in capabilities.strings("add") {
            if capability != "NET_BIND_SERVICE" {
                added.push_str(if added.is_empty() {
                    "capabilities.add=["
                } else {
                    ","
                });
                added.push_str(capability);
            }
        }
        if !added.is_empty() {
            added.push(']');
            findings.push(added);
        }
    }
    if level == Level::Enabled {
        let run_as_non_root = security_context
            .bool_field("runAsNonRoot")
            .or_else(|| pod_security_context.bool_field("runAsNonRoot"));
        if run_as_non_root == Some(false) {
            findings.push("runAsNonRoot=false".to_string());
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::from_json;
    use serde_json::json;

    fn findings(level: Level, pod: serde_json::Value, container: serde_json::Value) -> Vec<String> {
        let (pod, container) = (from_json(&pod), from_json(&container));
        container_findings(level, pod.as_object(), false, container.as_object())
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
            container_findings(Level::Enabled, from_json(&pod).as_object(), true, None),
            vec!["runAsNonRoot=false"]
        );
    }
}
