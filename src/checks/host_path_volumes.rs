//! HostPath Volumes: `hostPath` volumes are forbidden. Mirrors PSA's
//! `check_hostPathVolumes.go` (baseline, v1.0); at restricted,
//! `restrictedVolumes` replaces it.

use super::pod::quoted;
use super::{Check, PssLevel, PssVersion, VersionedCheck};
use crate::podspec::Pod;
use crate::violation::Violation;

const CONTROL: &str = "HostPath Volumes";
pub(super) const ID: &str = "hostPathVolumes";

pub(super) const CHECK: Check = Check {
    id: ID,
    control: CONTROL,
    level: PssLevel::Baseline,
    versions: &[VersionedCheck::new(
        PssVersion::v1(0),
        host_path_volumes_1_0,
    )],
};

fn host_path_volumes_1_0(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    for (index, volume) in pod.spec.volumes.iter().flatten().enumerate() {
        let Some(host_path) = &volume.host_path else {
            continue;
        };
        // `path` and `name` are required; an empty one is not shown.
        let target = match host_path.path.as_str() {
            "" => "set",
            path => path,
        };
        let actual = match volume.name.as_str() {
            "" => target.to_owned(),
            name => format!("{target}, volume {}", quoted(name)),
        };
        violations.push(pod.violation(
            &format!("volumes[{index}].hostPath"),
            "unset",
            actual,
            CONTROL,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{baseline, paths};
    use serde_json::json;

    #[test]
    fn host_path_volumes_are_forbidden() {
        let passing = json!({"containers": [{"name": "web"}], "volumes": [
            {"name": "cache", "emptyDir": {}}, {"name": "odd", "hostPath": null}]});
        assert!(baseline(&passing).is_empty());

        let failing = json!({"containers": [{"name": "web"}], "volumes": [
            {"name": "cache", "emptyDir": {}},
            {"name": "sock", "hostPath": {"path": "/run/containerd/containerd.sock"}}]});
        let found = baseline(&failing);
        assert_eq!(paths(&found), ["spec.volumes[1].hostPath"]);
        assert_eq!(
            found[0].to_string(),
            "spec.volumes[1].hostPath must be unset (is /run/containerd/containerd.sock, volume \"sock\")"
        );
    }
}
