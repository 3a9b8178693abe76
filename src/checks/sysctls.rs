//! Sysctls: only sysctls known to be namespaced and isolated per pod may be
//! set (`spec.securityContext.sysctls[*].name`). Mirrors PSA's
//! `check_sysctls.go` (baseline; the safe list grew at v1.27, v1.29, v1.32
//! and v1.37).

use super::{Check, PssLevel, PssVersion, VersionedCheck};
use crate::podspec::Pod;
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

fn sysctls_1_0(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    sysctls(pod, &SAFE[..5], violations);
}

fn sysctls_1_27(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    sysctls(pod, &SAFE[..6], violations);
}

fn sysctls_1_29(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    sysctls(pod, &SAFE[..10], violations);
}

fn sysctls_1_32(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    sysctls(pod, &SAFE[..12], violations);
}

fn sysctls_1_37(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    sysctls(pod, SAFE, violations);
}

fn sysctls(pod: &Pod<'_>, safe: &[&str], violations: &mut Vec<Violation>) {
    let Some(entries) = pod
        .security_context
        .as_ref()
        .and_then(|sc| sc.sysctls.as_ref())
    else {
        return;
    };
    for (index, sysctl) in entries.iter().enumerate() {
        let actual = match sysctl.name.as_str() {
            name if safe.contains(&name) => continue,
            // A missing name reads as "", which is not safe.
            "" => "unset",
            name => name,
        };
        violations.push(pod.violation(
            &format!("securityContext.sysctls[{index}].name"),
            &format!("a safe sysctl ({})", safe.join(", ")),
            actual.to_owned(),
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

    #[test]
    fn a_sysctl_without_a_name_is_not_safe() {
        let spec = json!({"securityContext": {"sysctls": [{"value": "1"}]},
            "containers": [{"name": "web"}]});
        let found = baseline(&spec);
        assert_eq!(paths(&found), ["spec.securityContext.sysctls[0].name"]);
        assert_eq!(found[0].actual, "unset");
    }
}
