//! Host Ports: `ports[*].hostPort` must be 0 or unset on every container.
//! Mirrors PSA's `check_hostPorts.go` (baseline, v1.0).

use super::pod::{PodView, present, wrong_type};
use super::{Check, PssLevel, PssVersion, VersionedCheck};
use crate::value::Value;
use crate::violation::Violation;

const CONTROL: &str = "Host Ports";

pub(super) const CHECK: Check = Check {
    id: "hostPorts",
    control: CONTROL,
    level: PssLevel::Baseline,
    versions: &[VersionedCheck::new(PssVersion::v1(0), host_ports_1_0)],
};

fn host_ports_1_0(pod: &PodView<'_>, violations: &mut Vec<Violation>) {
    for container in pod.containers() {
        let Some(Value::Array(ports)) = container.field("ports") else {
            continue;
        };
        for (index, port) in ports.iter().enumerate() {
            let actual = match present(port.get("hostPort")) {
                None => continue,
                Some(value) => match value.as_i64() {
                    Some(0) => continue,
                    Some(number) => number.to_string(),
                    None => wrong_type(value, "an integer"),
                },
            };
            violations.push(container.violation(
                &format!("ports[{index}].hostPort"),
                "0 or unset",
                actual,
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
