//! Host Ports: `ports[*].hostPort` must be 0 or unset on every container.
//! Mirrors PSA's `check_hostPorts.go` (baseline, v1.0).

use super::{Check, PssLevel, PssVersion, VersionedCheck};
use crate::podspec::Pod;
use crate::violation::Violation;

const CONTROL: &str = "Host Ports";

pub(super) const CHECK: Check = Check {
    id: "hostPorts",
    control: CONTROL,
    level: PssLevel::Baseline,
    versions: &[VersionedCheck::new(PssVersion::v1(0), host_ports_1_0)],
};

fn host_ports_1_0(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    for container in &pod.containers {
        for (index, port) in container.fields.ports.iter().flatten().enumerate() {
            let host_port = match port.host_port {
                None | Some(0) => continue,
                Some(host_port) => host_port,
            };
            violations.push(container.violation(
                &format!("ports[{index}].hostPort"),
                "0 or unset",
                host_port.to_string(),
                CONTROL,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{baseline, paths};
    use serde_json::json;

    #[test]
    fn host_ports_are_forbidden() {
        let passing = json!({"containers": [{"name": "web", "ports": [
            {"containerPort": 8080}, {"containerPort": 9090, "hostPort": 0}]}]});
        assert!(baseline(&passing).is_empty());

        let failing = json!({"initContainers": [{"name": "proxy", "ports": [
            {"containerPort": 80}, {"containerPort": 443, "hostPort": 443}]}], "containers": [{"name": "web"}]});
        let found = baseline(&failing);
        assert_eq!(paths(&found), ["spec.initContainers[0].ports[1].hostPort"]);
        assert_eq!(
            found[0].to_string(),
            "spec.initContainers[0] \"proxy\": ports[1].hostPort must be 0 or unset (is 443)"
        );
    }
}
