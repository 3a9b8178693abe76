//! HostProcess: Windows HostProcess containers (privileged access to the
//! Windows node) are forbidden, at pod and container level. Mirrors PSA's
//! `check_windowsHostProcess.go` (baseline, v1.0).

use super::pod::{PodView, must_not_be_true};
use super::{Check, PssLevel, PssVersion, VersionedCheck};
use crate::value::Map;
use crate::violation::Violation;

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

fn windows_host_process_1_0(pod: &PodView<'_>, violations: &mut Vec<Violation>) {
    if let Some(actual) = host_process(pod.security_context()) {
        violations.push(pod.violation(FIELD, "false", actual, CONTROL));
    }
    for container in pod.containers() {
        if let Some(actual) = host_process(container.security_context()) {
            violations.push(container.violation(FIELD, "false", actual, CONTROL));
        }
    }
}

fn host_process(security_context: Option<&Map>) -> Option<String> {
    let options = security_context?.get("windowsOptions")?.as_object()?;
    must_not_be_true(options.get("hostProcess"))
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
