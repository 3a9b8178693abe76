//! Sysctls: only sysctls known to be namespaced and isolated per pod may be
//! set (`spec.securityContext.sysctls[*].name`). Mirrors PSA's
//! `check_sysctls.go` (baseline; the safe list grew at v1.27, v1.29, v1.32
//! and v1.37).

use super::pod::{PodView, present, wrong_type};
use super::{Check, PssLevel, PssVersion, VersionedCheck};
use crate::value::Value;
use crate::violation::Violation;

const CONTROL: &str = "Sysctls";

pub(super) const CHECK: Check = Check {
    id: "sysctls",
    control: CONTROL,
    level: PssLevel::Baseline,
    versions: &[
        VersionedCheck::new(PssVersion::v1(0), sysctls_1_0),
        VersionedCheck::new(PssVersion::v1(27), sysctls_1_27),
        VersionedCheck::new(PssVersion::v1(29), sysctls_1_29),
        VersionedCheck::new(PssVersion::v1(32), sysctls_1_32),
        VersionedCheck::new(PssVersion::v1(37), sysctls_1_37),
    ],
};

/// The safe list, in the order sysctls were added; each version allows a
/// prefix of it.
const SAFE: &[&str] = &[
    // v1.0
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
    // v1.27
    "net.ipv4.ip_local_reserved_ports",
    // v1.29
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    // v1.32
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
    // v1.37
    "net.ipv4.tcp_slow_start_after_idle",
    "net.ipv4.tcp_notsent_lowat",
];

fn sysctls_1_0(pod: &PodView<'_>, violations: &mut Vec<Violation>) {
    sysctls(pod, &SAFE[..5], violations);
}

fn sysctls_1_27(pod: &PodView<'_>, violations: &mut Vec<Violation>) {
    sysctls(pod, &SAFE[..6], violations);
}

fn sysctls_1_29(pod: &PodView<'_>, violations: &mut Vec<Violation>) {
    sysctls(pod, &SAFE[..10], violations);
}

fn sysctls_1_32(pod: &PodView<'_>, violations: &mut Vec<Violation>) {
    sysctls(pod, &SAFE[..12], violations);
}

fn sysctls_1_37(pod: &PodView<'_>, violations: &mut Vec<Violation>) {
    sysctls(pod, SAFE, violations);
}

fn sysctls(pod: &PodView<'_>, safe: &[&str], violations: &mut Vec<Violation>) {
    let entries = match pod.security_context_field("sysctls") {
        None => return,
        Some(Value::Array(entries)) => entries,
        Some(other) => {
            violations.push(pod.violation(
                "securityContext.sysctls",
                "a list of safe sysctls",
                wrong_type(other, "a list"),
                CONTROL,
            ));
            return;
        }
    };
    for (index, entry) in entries.iter().enumerate() {
        let (field, actual) = match entry {
            // A missing name decodes to "", which is not safe.
            Value::Object(sysctl) => match present(sysctl.get("name")) {
                Some(Value::String(name)) if safe.contains(&name.as_ref()) => continue,
                Some(Value::String(name)) => (format!("sysctls[{index}].name"), name.to_string()),
                Some(other) => (
                    format!("sysctls[{index}].name"),
                    wrong_type(other, "a string"),
                ),
                None => (format!("sysctls[{index}].name"), "unset".to_owned()),
            },
            other => (format!("sysctls[{index}]"), wrong_type(other, "an object")),
        };
        violations.push(pod.violation(
            &format!("securityContext.{field}"),
            &format!("a safe sysctl ({})", safe.join(", ")),
            actual,
            CONTROL,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{at, baseline, paths};
    use super::super::{PssLevel, PssVersion};
    use serde_json::json;

    fn with_sysctl(name: &str) -> serde_json::Value {
        json!({"securityContext": {"sysctls": [
            {"name": "kernel.shm_rmid_forced", "value": "1"}, {"name": name, "value": "1"}]},
            "containers": [{"name": "web"}]})
    }

    #[test]
    fn unsafe_sysctls_are_forbidden() {
        assert!(baseline(&with_sysctl("net.ipv4.ip_unprivileged_port_start")).is_empty());
        let found = baseline(&with_sysctl("net.core.somaxconn"));
        assert_eq!(paths(&found), ["spec.securityContext.sysctls[1].name"]);
        assert_eq!(found[0].actual, "net.core.somaxconn");
    }

    #[test]
    fn the_safe_list_follows_the_version() {
        let cases = [
            ("net.ipv4.ip_local_reserved_ports", 27),
            ("net.ipv4.tcp_keepalive_time", 29),
            ("net.ipv4.tcp_fin_timeout", 29),
            ("net.ipv4.tcp_rmem", 32),
            ("net.ipv4.tcp_wmem", 32),
            ("net.ipv4.tcp_slow_start_after_idle", 37),
            ("net.ipv4.tcp_notsent_lowat", 37),
        ];
        for (name, since) in cases {
            let spec = with_sysctl(name);
            assert_eq!(
                at(PssLevel::Baseline, PssVersion::v1(since - 1), &spec).len(),
                1,
                "{name} before v1.{since}"
            );
            assert!(
                at(PssLevel::Baseline, PssVersion::v1(since), &spec).is_empty(),
                "{name} at v1.{since}"
            );
            assert!(
                at(PssLevel::Restricted, PssVersion::LATEST, &spec)
                    .iter()
                    .all(|v| v.control != "Sysctls")
            );
        }
    }
}
