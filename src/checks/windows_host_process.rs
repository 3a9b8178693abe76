//! HostProcess: Windows HostProcess containers (privileged access to the
//! Windows node) are forbidden, at pod and container level. Mirrors PSA's
//! `check_windowsHostProcess.go` (baseline, v1.0).

use super::{Check, PssLevel, PssVersion, VersionedCheck};
use crate::podspec::Pod;
use crate::violation::Violation;
use k8s_openapi::api::core::v1::WindowsSecurityContextOptions;

const CONTROL: &str = "HostProcess";
const FIELD: &str = "securityContext.windowsOptions.hostProcess";

pub(super) const CHECK: Check = Check {
    id: "windowsHostProcess",
    control: CONTROL,
    level: PssLevel::Baseline,
    versions: &[VersionedCheck::new(
        PssVersion::v1(0),
        windows_host_process_1_0,
    )],
};

fn windows_host_process_1_0(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    let pod_options = pod.security_context.as_ref();
    if host_process(pod_options.and_then(|sc| sc.windows_options.as_ref())) {
        violations.push(pod.violation(FIELD, "false", "true".to_owned(), CONTROL));
    }
    for container in &pod.containers {
        let security_context = container.security_context.as_ref();
        if host_process(security_context.and_then(|sc| sc.windows_options.as_ref())) {
            violations.push(container.violation(FIELD, "false", "true".to_owned(), CONTROL));
        }
    }
}

fn host_process(options: Option<&WindowsSecurityContextOptions>) -> bool {
    options.and_then(|options| options.host_process) == Some(true)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{baseline, paths};
    use serde_json::json;

    #[test]
    fn host_process_is_forbidden() {
        let passing = json!({"os": {"name": "windows"}, "securityContext": {"windowsOptions": {"runAsUserName": "ContainerUser"}},
            "containers": [{"name": "iis", "securityContext": {"windowsOptions": {"hostProcess": false}}}]});
        assert!(baseline(&passing).is_empty());

        let failing = json!({"os": {"name": "windows"}, "hostNetwork": true,
            "securityContext": {"windowsOptions": {"hostProcess": true}},
            "containers": [{"name": "agent", "securityContext": {"windowsOptions": {"hostProcess": true}}}]});
        let found = baseline(&failing);
        assert_eq!(
            paths(&found),
            [
                "spec.containers[0].securityContext.windowsOptions.hostProcess",
                "spec.hostNetwork",
                "spec.securityContext.windowsOptions.hostProcess",
            ]
        );
    }
}
