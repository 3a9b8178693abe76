//! Volume Types: restricted allows only volume types that do not reach the
//! node or outside storage directly. Mirrors PSA's
//! `check_restrictedVolumes.go` (`restrictedVolumes`, restricted, v1.0,
//! overriding `hostPathVolumes`). PSA added `image` volumes to the allowed
//! list inside its single v1.0 implementation, so they are allowed at every
//! pinned version here too.

use super::host_path_volumes;
use super::pod::{one_of, quoted};
use super::{Check, PssLevel, PssVersion, VersionedCheck};
use crate::podspec::{Pod, Volume};
use crate::violation::Violation;

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

fn restricted_volumes_1_0(pod: &Pod<'_>, violations: &mut Vec<Violation>) {
    for (index, volume) in pod.spec.volumes.iter().flatten().enumerate() {
        let mut sources: Vec<&str> = sources(volume)
            .into_iter()
            .filter_map(|(source, set)| set.then_some(source))
            .collect();
        // A volume with no source is an emptyDir (the API server defaults
        // it so before PSA sees it). Like PSA's switch, a volume passes when
        // it has any allowed source (the API server refuses volumes with two
        // sources).
        if sources.is_empty() || sources.iter().any(|source| ALLOWED.contains(source)) {
            continue;
        }
        sources.sort_unstable();
        let mut actual = format!("{} volume", sources.join(" + "));
        if !volume.name.is_empty() {
            actual.push(' ');
            actual.push_str(&quoted(&volume.name));
        }
        violations.push(pod.violation(
            &format!("volumes[{index}]"),
            &format!("a {} volume", one_of(ALLOWED)),
            actual,
            CONTROL,
        ));
    }
}

/// Every volume source by its field name, and whether `volume` sets it.
fn sources(volume: &Volume) -> [(&'static str, bool); 30] {
    [
        (
            "awsElasticBlockStore",
            volume.aws_elastic_block_store.is_some(),
        ),
        ("azureDisk", volume.azure_disk.is_some()),
        ("azureFile", volume.azure_file.is_some()),
        ("cephfs", volume.cephfs.is_some()),
        ("cinder", volume.cinder.is_some()),
        ("configMap", volume.config_map.is_some()),
        ("csi", volume.csi.is_some()),
        ("downwardAPI", volume.downward_api.is_some()),
        ("emptyDir", volume.empty_dir.is_some()),
        ("ephemeral", volume.ephemeral.is_some()),
        ("fc", volume.fc.is_some()),
        ("flexVolume", volume.flex_volume.is_some()),
        ("flocker", volume.flocker.is_some()),
        ("gcePersistentDisk", volume.gce_persistent_disk.is_some()),
        ("gitRepo", volume.git_repo.is_some()),
        ("glusterfs", volume.glusterfs.is_some()),
        ("hostPath", volume.host_path.is_some()),
        ("image", volume.image.is_some()),
        ("iscsi", volume.iscsi.is_some()),
        ("nfs", volume.nfs.is_some()),
        (
            "persistentVolumeClaim",
            volume.persistent_volume_claim.is_some(),
        ),
        (
            "photonPersistentDisk",
            volume.photon_persistent_disk.is_some(),
        ),
        ("portworxVolume", volume.portworx_volume.is_some()),
        ("projected", volume.projected.is_some()),
        ("quobyte", volume.quobyte.is_some()),
        ("rbd", volume.rbd.is_some()),
        ("scaleIO", volume.scale_io.is_some()),
        ("secret", volume.secret.is_some()),
        ("storageos", volume.storageos.is_some()),
        ("vsphereVolume", volume.vsphere_volume.is_some()),
    ]
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

    #[test]
    fn a_volume_without_a_source_is_an_empty_dir() {
        let mut spec = restricted_pod();
        spec["volumes"] = json!([{"name": "scratch"}]);
        assert!(restricted(&spec).is_empty());
        spec["volumes"] = json!([{"name": "both", "nfs": {"server": "nfs.example", "path": "/"},
            "gitRepo": {"repository": "https://git.example/repo"}}]);
        assert_eq!(restricted(&spec)[0].actual, "gitRepo + nfs volume \"both\"");
    }
}
