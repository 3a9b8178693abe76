//! Volume Types: restricted allows only volume types that do not reach the
//! node or outside storage directly. Mirrors PSA's
//! `check_restrictedVolumes.go` (`restrictedVolumes`, restricted, v1.0,
//! overriding `hostPathVolumes`). PSA added `image` volumes to the allowed
//! list inside its single v1.0 implementation, so they are allowed at every
//! pinned version here too.

use super::host_path_volumes;
use super::pod::{PodView, one_of};
use super::{Check, PssLevel, PssVersion, VersionedCheck};
use crate::value::Value;
use crate::violation::Violation;
use std::fmt::Write;

const CONTROL: &str = "Volume Types";

pub(super) const CHECK: Check = Check {
    id: "restrictedVolumes",
    control: CONTROL,
    level: PssLevel::Restricted,
    versions: &[VersionedCheck::overriding(
        PssVersion::v1(0),
        &[host_path_volumes::ID],
        restricted_volumes_1_0,
    )],
};

const ALLOWED: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

fn restricted_volumes_1_0(pod: &PodView<'_>, violations: &mut Vec<Violation>) {
    for (index, volume) in pod.volumes() {
        // Like PSA's switch, a volume passes when it has any allowed
        // source (the API server refuses volumes with two sources).
        if ALLOWED
            .iter()
            .any(|source| volume.get(source).is_some_and(Value::is_object))
        {
            continue;
        }
        let mut sources: Vec<&str> = Vec::new();
        for (key, value) in volume {
            if key != "name" && !value.is_null() {
                sources.push(key);
            }
        }
        sources.sort_unstable();
        let mut actual = if sources.is_empty() {
            "no volume source".to_owned()
        } else {
            format!("{} volume", sources.join(" + "))
        };
        // Quoted as JSON, as the HostPath Volumes check shows it.
        if let Some(name @ Value::String(_)) = volume.get("name") {
            let _ = write!(actual, " {name}");
        }
        violations.push(pod.violation(
            &format!("volumes[{index}]"),
            &format!("a {} volume", one_of(ALLOWED)),
            actual,
            CONTROL,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{at, baseline, paths, restricted, restricted_pod};
    use super::super::{PssLevel, PssVersion};
    use serde_json::json;

    #[test]
    fn only_the_allowed_volume_types_pass() {
        let mut spec = restricted_pod();
        spec["volumes"] = json!([
            {"name": "config", "configMap": {"name": "app"}},
            {"name": "scratch", "emptyDir": {}},
            {"name": "token", "projected": {"sources": []}},
            {"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
            {"name": "models", "image": {"reference": "registry.example/models:1"}}
        ]);
        for version in [PssVersion::v1(0), PssVersion::v1(25), PssVersion::LATEST] {
            assert!(
                at(PssLevel::Restricted, version, &spec).is_empty(),
                "at {version}"
            );
        }

        spec["volumes"] = json!([
            {"name": "scratch", "emptyDir": {}},
            {"name": "share", "nfs": {"server": "nfs.example", "path": "/export"}},
            {"name": "host", "hostPath": {"path": "/etc"}}
        ]);
        let found = restricted(&spec);
        assert_eq!(paths(&found), ["spec.volumes[1]", "spec.volumes[2]"]);
        assert!(
            found[0].to_string().ends_with("(is nfs volume \"share\")"),
            "{}",
            found[0]
        );
        // At restricted the hostPath volume is reported once, by this check.
        assert_eq!(found[1].control, "Volume Types");
        // nfs is fine at baseline; hostPath is not.
        assert_eq!(paths(&baseline(&spec)), ["spec.volumes[2].hostPath"]);
    }
}
