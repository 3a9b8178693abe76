//! The pod template as the policy reads it: typed, and borrowed from the
//! request's own text.
//!
//! Only the fields a rule reads are deserialized; everything else (env,
//! resources, mounts, labels, status) is skipped by serde without building a
//! tree. Security contexts, volumes, probes and hooks are read with
//! k8s-openapi's types, as Pod Security Admission reads `corev1` types. Each
//! securityContext keeps its place in the request text (a [`RawValue`]
//! borrowed from it), and so does each container, so the defaults can be
//! spliced into the text and every other byte comes back unchanged.
//!
//! A value of the wrong type (a string where a boolean belongs) is refused
//! with its full path: the API server would have refused it too.

use k8s_openapi::api::core::v1::{
    HostPathVolumeSource, PodOS, PodSecurityContext, SecurityContext,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::rc::Rc;

/// A field's text as it stands in the request, `null` included; missing
/// fields are `Raw(None)`. (Read into an `Option`, `null` would be `None`
/// and lose its place, which an edit must replace.)
#[derive(Clone, Copy, Debug, Default)]
pub struct Raw<'a>(pub Option<&'a RawValue>);

impl<'de: 'a, 'a> Deserialize<'de> for Raw<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Raw<'a>, D::Error> {
        <&'a RawValue>::deserialize(deserializer).map(|raw| Raw(Some(raw)))
    }
}

impl<'a> Raw<'a> {
    /// The text, unless the field is missing or `null`.
    pub fn set(self) -> Option<&'a RawValue> {
        self.0.filter(|raw| raw.get() != "null")
    }
}

/// Reads `text` as a `T`. What cannot be read is told in one sentence that
/// starts with `path`, where `text` sits in the object (the policy reads an
/// object level by level, pod spec, container, securityContext, so the path
/// names the part at fault), followed by serde_json's reason.
///
/// (The field inside that part is not named: serde_path_to_error would name
/// it, but its code, about 80 KB of the module, would be compiled at every
/// policy-server start, for values the API server's own decoding refuses
/// before any webhook sees them.)
pub fn read<'a, T: Deserialize<'a>>(text: &'a str, path: &str) -> Result<T, String> {
    read_at(text, || path.to_owned())
}

/// [`read`], with the path written out only for a refusal: most requests
/// are read without one, and a path per container would cost a string each.
pub fn read_at<'a, T: Deserialize<'a>>(
    text: &'a str,
    path: impl FnOnce() -> String,
) -> Result<T, String> {
    serde_json::from_slice(text.as_bytes()).map_err(|error| {
        let path = path();
        match path.as_str() {
            "" => reason(&error),
            path => format!("{path}: {}", reason(&error)),
        }
    })
}

/// serde_json's message without its position: the path says where.
pub fn reason(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    match message.strip_suffix(&position) {
        Some(reason) => reason.to_owned(),
        None => message,
    }
}

/// What the policy reads of an object's metadata: the annotations the
/// AppArmor and seccomp checks read (a value other than a string is refused,
/// as the API server refuses it), and who owns the object.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a metadata object")]
pub struct Metadata {
    pub annotations: Option<BTreeMap<String, String>>,
    pub owner_references: Option<Vec<OwnerReference>>,
}

/// What the policy reads of a pod spec (a `PodSpec`, or a Knative
/// `RevisionSpec`, which inlines one). Containers are kept as their text,
/// to be read one by one with their place in the object.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a pod spec object")]
pub struct PodSpec<'a> {
    #[serde(default, borrow)]
    pub security_context: Raw<'a>,
    pub os: Option<PodOS>,
    #[serde(borrow)]
    pub runtime_class_name: Option<Cow<'a, str>>,
    pub host_users: Option<bool>,
    pub host_network: Option<bool>,
    #[serde(rename = "hostPID")]
    pub host_pid: Option<bool>,
    #[serde(rename = "hostIPC")]
    pub host_ipc: Option<bool>,
    pub volumes: Option<Vec<Volume>>,
    #[serde(borrow)]
    pub init_containers: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    pub containers: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    pub ephemeral_containers: Option<Vec<&'a RawValue>>,
}

/// A volume as the volume checks read it: its name, its `hostPath` (in
/// k8s-openapi's type) and which other source it sets, by the field names
/// of k8s-openapi's `Volume`. Not that `Volume` itself: it reads every source
/// whole (an ephemeral volume's claim template carries a whole `ObjectMeta`,
/// timestamps and their calendar included), about 130 KB of code that every
/// policy-server start would compile, for checks that only ask which source
/// is set.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a volume object")]
pub struct Volume {
    #[serde(default)]
    pub name: String,
    pub host_path: Option<HostPathVolumeSource>,
    pub aws_elastic_block_store: Option<IgnoredAny>,
    pub azure_disk: Option<IgnoredAny>,
    pub azure_file: Option<IgnoredAny>,
    pub cephfs: Option<IgnoredAny>,
    pub cinder: Option<IgnoredAny>,
    pub config_map: Option<IgnoredAny>,
    pub csi: Option<IgnoredAny>,
    #[serde(rename = "downwardAPI")]
    pub downward_api: Option<IgnoredAny>,
    pub empty_dir: Option<IgnoredAny>,
    pub ephemeral: Option<IgnoredAny>,
    pub fc: Option<IgnoredAny>,
    pub flex_volume: Option<IgnoredAny>,
    pub flocker: Option<IgnoredAny>,
    pub gce_persistent_disk: Option<IgnoredAny>,
    pub git_repo: Option<IgnoredAny>,
    pub glusterfs: Option<IgnoredAny>,
    pub image: Option<IgnoredAny>,
    pub iscsi: Option<IgnoredAny>,
    pub nfs: Option<IgnoredAny>,
    pub persistent_volume_claim: Option<IgnoredAny>,
    pub photon_persistent_disk: Option<IgnoredAny>,
    pub portworx_volume: Option<IgnoredAny>,
    pub projected: Option<IgnoredAny>,
    pub quobyte: Option<IgnoredAny>,
    pub rbd: Option<IgnoredAny>,
    #[serde(rename = "scaleIO")]
    pub scale_io: Option<IgnoredAny>,
    pub secret: Option<IgnoredAny>,
    pub storageos: Option<IgnoredAny>,
    pub vsphere_volume: Option<IgnoredAny>,
}

/// What the policy reads of a container (regular, init or ephemeral).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a container object")]
pub struct ContainerFields<'a> {
    #[serde(borrow)]
    pub name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub image: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub security_context: Raw<'a>,
    pub ports: Option<Vec<Port>>,
    pub liveness_probe: Option<Handler>,
    pub readiness_probe: Option<Handler>,
    pub startup_probe: Option<Handler>,
    pub lifecycle: Option<Lifecycle>,
}

/// What the host-probes check reads of a probe or a lifecycle hook (a
/// `Probe` and a `LifecycleHandler` both hold their actions at the top):
/// the `host` of its `httpGet` and `tcpSocket`, by k8s-openapi's field
/// names. Not k8s-openapi's `Probe` and `Lifecycle`: every container of a
/// real pod carries probes, and reading them whole (paths, ports, headers,
/// commands, timings) cost both time per request and ten types of code to
/// compile at every start, for one field.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a probe or a lifecycle handler")]
pub struct Handler {
    pub http_get: Option<Action>,
    pub tcp_socket: Option<Action>,
}

/// An `httpGet` or `tcpSocket` action, for its `host`.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "an httpGet or tcpSocket action")]
pub struct Action {
    pub host: Option<String>,
}

/// A container's `lifecycle` hooks.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a lifecycle object")]
pub struct Lifecycle {
    pub post_start: Option<Handler>,
    pub pre_stop: Option<Handler>,
}

/// A container port as the rules read it. Not k8s-openapi's `ContainerPort`,
/// whose `containerPort` is required: Knative's capabilities rule counts an
/// entry without one as port 0, and so does this policy.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a port object")]
pub struct Port {
    pub container_port: Option<i32>,
    pub host_port: Option<i32>,
}

/// The three lists of containers in a pod spec, by their field name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerList {
    Containers,
    InitContainers,
    EphemeralContainers,
}

impl ContainerList {
    /// In the order the PodSpec reference lists them (and warnings follow).
    pub const ALL: [ContainerList; 3] = [
        ContainerList::Containers,
        ContainerList::InitContainers,
        ContainerList::EphemeralContainers,
    ];

    /// In the order Pod Security Admission's `visitContainers` visits them.
    pub const VISIT_ORDER: [ContainerList; 3] = [
        ContainerList::InitContainers,
        ContainerList::Containers,
        ContainerList::EphemeralContainers,
    ];

    pub fn field(self) -> &'static str {
        match self {
            ContainerList::InitContainers => "initContainers",
            ContainerList::Containers => "containers",
            ContainerList::EphemeralContainers => "ephemeralContainers",
        }
    }
}

/// One container, read, with its place in the object.
#[derive(Debug)]
pub struct Container<'a> {
    /// The pod spec's path, e.g. `spec.template.spec` (shared by the pod's
    /// containers).
    pub spec_path: Rc<str>,
    pub list: ContainerList,
    pub index: usize,
    /// The container's text in the request.
    pub raw: &'a RawValue,
    pub fields: ContainerFields<'a>,
    /// The securityContext the checks read: the container's own, with the
    /// defaults written into it once defaulting ran.
    pub security_context: Option<SecurityContext>,
    /// Why `enabled` left `runAsNonRoot` unset here, when its image decided
    /// (see [`crate::images`]), for the runAsNonRoot check's message.
    pub run_as_root_reason: Option<String>,
}

impl Container<'_> {
    /// The indexed path, e.g. `spec.initContainers[0]`; built only for a
    /// violation or a report, since most containers have none.
    pub fn path(&self) -> String {
        format!("{}.{}[{}]", self.spec_path, self.list.field(), self.index)
    }

    /// The `name`, or `""` when it has none.
    pub fn name(&self) -> &str {
        self.fields.name.as_deref().unwrap_or("")
    }

    pub fn image(&self) -> Option<&str> {
        self.fields.image.as_deref()
    }

    /// Whether the container declares a `containerPort` below 1024 (an entry
    /// without one counts as port 0, as in Knative's rule).
    pub fn binds_low_port(&self) -> bool {
        self.fields
            .ports
            .iter()
            .flatten()
            .any(|port| port.container_port.unwrap_or(0) < 1024)
    }

    /// The ports from 1 to 1023 it declares as `containerPort`, which only
    /// root, or a process allowed by the pod's
    /// `net.ipv4.ip_unprivileged_port_start`, may bind.
    /// In the order declared, each once.
    pub fn low_ports(&self) -> Vec<i32> {
        let mut ports = Vec::new();
        for port in self.fields.ports.iter().flatten() {
            match port.container_port {
                Some(port) if (1..1024).contains(&port) && !ports.contains(&port) => {
                    ports.push(port)
                }
                _ => {}
            }
        }
        ports
    }
}

/// A pod template read whole for the rules: its metadata, its pod spec,
/// the pod's securityContext and every container, and where they are.
#[derive(Debug)]
pub struct Pod<'a> {
    /// The admitted object's `metadata.ownerReferences` (the object's, not
    /// the template's).
    pub owners: Vec<OwnerReference>,
    /// e.g. `spec` for a Pod, `spec.template.spec` for a Deployment.
    pub spec_path: String,
    /// e.g. `metadata` for a Pod, `spec.template.metadata` for a Deployment.
    pub metadata_path: String,
    pub annotations: BTreeMap<String, String>,
    /// The pod spec's text in the request, kept only when a default may
    /// have to add a field to the pod spec itself (see
    /// [`crate::carriers::Carrier::read_pod`]).
    pub spec_text: Option<&'a RawValue>,
    pub spec: PodSpec<'a>,
    /// The pod's securityContext, with the pod-level defaults written into
    /// it once defaulting ran.
    pub security_context: Option<PodSecurityContext>,
    /// Every container, in Pod Security Admission's visiting order
    /// (initContainers, containers, ephemeralContainers).
    pub containers: Vec<Container<'a>>,
}

impl<'a> Pod<'a> {
    /// Reads the containers and the securityContext of a pod spec read
    /// already, with its template's `metadata`.
    pub fn read(
        spec: PodSpec<'a>,
        spec_text: Option<&'a RawValue>,
        metadata: Metadata,
        spec_path: String,
        metadata_path: String,
    ) -> Result<Pod<'a>, String> {
        let security_context = match spec.security_context.set() {
            Some(raw) => read_at(raw.get(), || format!("{spec_path}.securityContext"))?,
            None => None,
        };
        let shared_spec_path: Rc<str> = Rc::from(spec_path.as_str());
        let mut containers = Vec::new();
        for list in ContainerList::VISIT_ORDER {
            let items = match list {
                ContainerList::InitContainers => &spec.init_containers,
                ContainerList::Containers => &spec.containers,
                ContainerList::EphemeralContainers => &spec.ephemeral_containers,
            };
            for (index, raw) in items.iter().flatten().enumerate() {
                let path = || format!("{spec_path}.{}[{index}]", list.field());
                let fields: ContainerFields = read_at(raw.get(), path)?;
                let security_context = match fields.security_context.set() {
                    Some(raw) => read_at(raw.get(), || format!("{}.securityContext", path()))?,
                    None => None,
                };
                containers.push(Container {
                    spec_path: Rc::clone(&shared_spec_path),
                    list,
                    index,
                    raw,
                    fields,
                    security_context,
                    run_as_root_reason: None,
                });
            }
        }
        let annotations = metadata.annotations.unwrap_or_default();
        Ok(Pod {
            owners: Vec::new(),
            spec_path,
            metadata_path,
            annotations,
            spec_text,
            spec,
            security_context,
            containers,
        })
    }

    /// `spec.os.name: windows`, the marker Pod Security Admission's 1.25+
    /// checks exempt and Linux-only defaults skip.
    pub fn is_windows(&self) -> bool {
        self.spec.os.as_ref().is_some_and(|os| os.name == "windows")
    }

    /// `spec.hostUsers: false`: the pod runs in its own user namespace
    /// (PSA's `relaxPolicyForUserNamespacePod`). Absent or `true` is not.
    pub fn in_user_namespace(&self) -> bool {
        self.spec.host_users == Some(false)
    }
}

/// The seccomp profile type a securityContext sets; an empty type counts as
/// unset, as in Knative's defaulting.
pub fn seccomp_profile_type(
    profile: Option<&k8s_openapi::api::core::v1::SeccompProfile>,
) -> Option<&str> {
    profile
        .map(|profile| profile.type_.as_str())
        .filter(|profile_type| !profile_type.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(text: &str) -> Result<Option<Pod<'_>>, String> {
        let object: &RawValue = serde_json::from_str(text).unwrap();
        crate::carriers::carrier("", "Pod")
            .unwrap()
            .read_pod(object, false)
    }

    #[test]
    fn containers_are_read_in_psa_order_with_their_place() {
        let text = r#"{"metadata": {"annotations": {"a": "b"}, "labels": {"x": "y"}},
            "spec": {"securityContext": null, "containers": [{"name": "a", "securityContext": {"runAsUser": 1}, "env": []}, {}],
            "initContainers": [{"name": "i", "image": "x"}]}}"#;
        let pod = pod(text).unwrap().unwrap();
        assert!(pod.security_context.is_none());
        assert_eq!(pod.spec.security_context.0.unwrap().get(), "null");
        let names: Vec<(&str, usize)> = pod
            .containers
            .iter()
            .map(|container| (container.name(), container.index))
            .collect();
        assert_eq!(names, [("i", 0), ("a", 0), ("", 1)]);
        let app = &pod.containers[1];
        assert_eq!(app.security_context.as_ref().unwrap().run_as_user, Some(1));
        assert_eq!(
            app.fields.security_context.0.unwrap().get(),
            r#"{"runAsUser": 1}"#
        );
        assert!(app.raw.get().starts_with(r#"{"name": "a""#));
        assert_eq!(pod.annotations.len(), 1);
    }

    #[test]
    fn a_value_of_the_wrong_type_is_refused_with_its_path() {
        let refused = |text: &str| pod(text).unwrap_err();
        assert_eq!(
            refused(r#"{"spec": {"containers": [{"name": "a"}, {"name": 5}]}}"#),
            "spec.containers[1]: invalid type: integer `5`, expected a string"
        );
        assert_eq!(
            refused(
                r#"{"spec": {"containers": [{"name": "a", "securityContext": {"privileged": "yes"}}]}}"#
            ),
            "spec.containers[0].securityContext: invalid type: string \"yes\", expected a boolean"
        );
        assert_eq!(
            refused(r#"{"spec": {"volumes": [{"name": "v", "hostPath": 5}]}}"#),
            "spec: invalid type: integer `5`, expected HostPathVolumeSource"
        );
        assert_eq!(
            refused(r#"{"spec": {"containers": {"name": "a"}}}"#),
            "spec: invalid type: map, expected a sequence"
        );
        assert_eq!(
            refused(r#"{"metadata": {"annotations": {"a": 1}}, "spec": {}}"#),
            "metadata: invalid type: integer `1`, expected a string"
        );
    }

    #[test]
    fn no_spec_is_no_pod() {
        assert!(pod(r#"{"metadata": {}}"#).unwrap().is_none());
        assert!(pod(r#"{"spec": null}"#).unwrap().is_none());
    }

    #[test]
    fn a_port_without_container_port_is_port_0() {
        let pod =
            pod(r#"{"spec": {"containers": [{"name": "a", "ports": [{"hostPort": 8080}]}]}}"#)
                .unwrap()
                .unwrap();
        assert!(pod.containers[0].binds_low_port());
    }
}
