//! HostPath Volumes: `hostPath` volumes are forbidden. Mirrors PSA's
//! `check_hostPathVolumes.go` (baseline, v1.0); at restricted,
//! `restrictedVolumes` replaces it.

use super::pod::PodView;
use super::{Check, PssLevel, PssVersion, VersionedCheck};
use crate::value::Value;
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

fn host_path_volumes_1_0(pod: &PodView<'_>, violations: &mut Vec<Violation>) {
    for (index, volume) in pod.volumes() {
        let Some(host_path) = volume.get("hostPath").filter(|value| !value.is_null()) else {
            continue;
        };
        let target = host_path
            .get("path")
            .and_then(Value::as_str)
            .unwrap_or("set");
        let actual = match volume.get("name") {
            Some(name @ Value::String(_)) => format!("{target}, volume {name}"),
            _ => target.to_owned(),
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
