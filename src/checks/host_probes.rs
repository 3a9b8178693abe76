//! Host Probes / Lifecycle Hooks: probes and lifecycle handlers may not
//! name a `host` (which would let the kubelet send requests anywhere on the
//! node's network for the pod). Mirrors PSA's
//! `check_hostProbesAndhostLifecycle.go` (`hostProbesAndHostLifecycle`,
//! baseline, v1.34): `httpGet.host` and `tcpSocket.host` of the liveness,
//! readiness and startup probes and of the postStart and preStop handlers
//! must be empty or unset.

use super::{Check, PssLevel, PssVersion, VersionedCheck};
use crate::podspec::{Action, Container, Pod};
use crate::violation::Violation;

const CONTROL: &str = "Host Probes / Lifecycle Hooks";

pub(super) const CHECK: Check = Check {
    id: "hostProbesAndHostLifecycle",
    control: CONTROL,
    level: PssLevel::Baseline,
    versions: &[VersionedCheck::new(
        PssVersion::v1(34),
        host_probes_and_host_lifecycle_1_34,
    )],
};

fn host_probes_and_host_lifecycle_1_34(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    for container in &pod.containers {
        let fields = &container.fields;
        for (name, probe) in [
            ("livenessProbe", &fields.liveness_probe),
            ("readinessProbe", &fields.readiness_probe),
            ("startupProbe", &fields.startup_probe),
        ] {
            if let Some(probe) = probe {
                let actions = (probe.http_get.as_ref(), probe.tcp_socket.as_ref());
                check_handler(container, actions, name, violations);
            }
        }
        let Some(lifecycle) = &fields.lifecycle else {
            continue;
        };
        for (path, handler) in [
            ("lifecycle.postStart", &lifecycle.post_start),
            ("lifecycle.preStop", &lifecycle.pre_stop),
        ] {
            if let Some(handler) = handler {
                let actions = (handler.http_get.as_ref(), handler.tcp_socket.as_ref());
                check_handler(container, actions, path, violations);
            }
        }
    }
}

/// Checks the `host` of a probe's or a hook's `httpGet` and `tcpSocket`.
fn check_handler(
    container: &Container<'_>,
    (http_get, tcp_socket): (Option<&Action>, Option<&Action>),
    handler_path: &str,
    violations: &mut Vec<Violation>,
) {
    for (action, host) in [
        (
            "httpGet",
            http_get.and_then(|action| action.host.as_deref()),
        ),
        (
            "tcpSocket",
            tcp_socket.and_then(|action| action.host.as_deref()),
        ),
    ] {
        if let Some(host) = host.filter(|host| !host.is_empty()) {
            violations.push(container.violation(
                &format!("{handler_path}.{action}.host"),
                "empty or unset",
                host.to_owned(),
                CONTROL,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{at, paths};
    use super::super::{PssLevel, PssVersion};
    use serde_json::json;

    fn probing(host: &str) -> serde_json::Value {
        json!({"containers": [{"name": "web",
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080, "host": host}},
            "lifecycle": {"preStop": {"tcpSocket": {"port": 9000, "host": host}}}}]})
    }

    #[test]
    fn probe_and_hook_hosts_are_forbidden_from_1_34() {
        assert!(at(PssLevel::Baseline, PssVersion::LATEST, &probing("")).is_empty());

        let spec = probing("169.254.169.254");
        assert!(at(PssLevel::Baseline, PssVersion::v1(33), &spec).is_empty());
        let found = at(PssLevel::Baseline, PssVersion::v1(34), &spec);
        assert_eq!(
            paths(&found),
            [
                "spec.containers[0].lifecycle.preStop.tcpSocket.host",
                "spec.containers[0].readinessProbe.httpGet.host",
            ]
        );
        assert_eq!(
            found[1].to_string(),
            "spec.containers[0] \"web\": readinessProbe.httpGet.host must be empty or unset (is 169.254.169.254)"
        );
        // Even the loopback address is refused: PSA allows only empty.
        assert_eq!(
            at(
                PssLevel::Restricted,
                PssVersion::v1(34),
                &probing("127.0.0.1")
            )
            .iter()
            .filter(|v| v.control == "Host Probes / Lifecycle Hooks")
            .count(),
            2
        );
    }
}
