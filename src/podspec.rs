//! Borrowed views of a pod template: only the fields the policy reads, with
//! everything else skipped, and the raw text of what it may rewrite (each
//! container, each securityContext) kept so an edit can be spliced in place.

use crate::json::{self, raw_even_if_null};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;

#[derive(Deserialize, Default)]
pub struct PodTemplateView<'a> {
    #[serde(borrow, default)]
    pub spec: Option<PodSpecView<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PodSpecView<'a> {
    #[serde(borrow, default)]
    pub containers: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default)]
    pub init_containers: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default)]
    pub ephemeral_containers: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default, deserialize_with = "raw_even_if_null")]
    pub security_context: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub os: Option<PodOsView<'a>>,
    #[serde(borrow, default)]
    pub runtime_class_name: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
pub struct PodOsView<'a> {
    #[serde(borrow, default)]
    pub name: Option<Cow<'a, str>>,
}

/// The three lists of containers in a pod spec, by their field name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerList {
    InitContainers,
    Containers,
    EphemeralContainers,
}

impl ContainerList {
    /// In the order the PodSpec reference lists them.
    pub const ALL: [ContainerList; 3] = [
        ContainerList::Containers,
        ContainerList::InitContainers,
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

impl<'a> PodSpecView<'a> {
    pub fn list(&self, list: ContainerList) -> &[&'a RawValue] {
        let containers = match list {
            ContainerList::InitContainers => &self.init_containers,
            ContainerList::Containers => &self.containers,
            ContainerList::EphemeralContainers => &self.ephemeral_containers,
        };
        containers.as_deref().unwrap_or_default()
    }

    /// `spec.os.name: windows`: Linux-only securityContext fields are refused
    /// by the API server for such a pod.
    pub fn is_windows(&self) -> bool {
        self.os
            .as_ref()
            .and_then(|os| os.name.as_deref())
            .is_some_and(|name| name == "windows")
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerView<'a> {
    #[serde(borrow, default)]
    pub name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub image: Option<Cow<'a, str>>,
    #[serde(default)]
    pub ports: Option<Vec<PortView>>,
    #[serde(borrow, default, deserialize_with = "raw_even_if_null")]
    pub security_context: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortView {
    #[serde(default)]
    pub container_port: Option<i64>,
}

impl ContainerView<'_> {
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }

    /// Ports declared by this container, a port entry without a number
    /// counting as 0 (as Go decodes it).
    pub fn container_ports(&self) -> impl Iterator<Item = i64> + '_ {
        self.ports
            .iter()
            .flatten()
            .map(|port| port.container_port.unwrap_or(0))
    }
}

/// Reads a container from its raw text.
pub fn container<'a>(raw: &'a RawValue) -> Result<ContainerView<'a>, String> {
    if !raw.get().starts_with('{') {
        let value: Value = serde_json::from_str(raw.get()).unwrap_or_default();
        return Err(format!(
            "must be an object, not {}",
            crate::settings::describe(&value)
        ));
    }
    serde_json::from_str(raw.get()).map_err(|error| error_text(&error))
}

/// A securityContext as an editable map: `None` when unset or `null`.
pub fn security_context(raw: Option<&RawValue>) -> Result<Option<Map<String, Value>>, String> {
    match raw {
        None => Ok(None),
        Some(raw) if json::is_null(raw) => Ok(None),
        Some(raw) => match serde_json::from_str::<Value>(raw.get()) {
            Ok(Value::Object(map)) => Ok(Some(map)),
            Ok(other) => Err(format!(
                "securityContext must be an object, not {}",
                crate::settings::describe(&other)
            )),
            Err(error) => Err(error_text(&error)),
        },
    }
}

/// A serde error without its line and column, which point into a fragment
/// of the request and would only mislead.
pub fn error_text(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.find(" at line ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

/// Typed reads of securityContext fields, as the API server decodes them:
/// a missing field and `null` are both unset.
pub trait Fields {
    fn field(&self, key: &str) -> Option<&Value>;

    fn is_unset(&self, key: &str) -> bool {
        self.field(key).is_none()
    }

    fn bool_field(&self, key: &str) -> Option<bool> {
        self.field(key).and_then(Value::as_bool)
    }

    fn object_field(&self, key: &str) -> Option<&Map<String, Value>> {
        self.field(key).and_then(Value::as_object)
    }

    fn str_field(&self, key: &str) -> Option<&str> {
        self.field(key).and_then(Value::as_str)
    }

    /// The strings of a list field (non-strings are skipped).
    fn strings(&self, key: &str) -> Vec<&str> {
        self.field(key)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }
}

impl Fields for Map<String, Value> {
    fn field(&self, key: &str) -> Option<&Value> {
        self.get(key).filter(|value| !value.is_null())
    }
}

impl Fields for Option<&Map<String, Value>> {
    fn field(&self, key: &str) -> Option<&Value> {
        self.and_then(|map| map.field(key))
    }
}

/// The seccomp profile type a securityContext sets; an empty type counts as
/// unset, as in Knative's defaulting.
pub fn seccomp_profile_type(security_context: Option<&Map<String, Value>>) -> Option<&str> {
    security_context?
        .field("seccompProfile")?
        .get("type")?
        .as_str()
        .filter(|profile_type| !profile_type.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pod_spec_is_read_with_its_containers_raw() {
        let text = r#"{"spec": {"os": {"name": "windows"}, "containers": [{"name": "a"}, {"name": "b"}],
            "securityContext": null, "volumes": [{"name": "v", "emptyDir": {}}]}}"#;
        let template: PodTemplateView = serde_json::from_str(text).unwrap();
        let spec = template.spec.unwrap();
        assert!(spec.is_windows());
        assert_eq!(spec.list(ContainerList::Containers).len(), 2);
        assert!(spec.list(ContainerList::InitContainers).is_empty());
        assert_eq!(spec.security_context.unwrap().get(), "null");
        let second = container(spec.list(ContainerList::Containers)[1]).unwrap();
        assert_eq!(second.name(), "b");
    }

    #[test]
    fn a_port_without_a_number_counts_as_zero() {
        let raw: &RawValue = serde_json::from_str(
            r#"{"name": "a", "ports": [{"containerPort": 8080}, {"protocol": "UDP"}]}"#,
        )
        .unwrap();
        let view = container(raw).unwrap();
        assert_eq!(view.container_ports().collect::<Vec<_>>(), vec![8080, 0]);
    }

    #[test]
    fn malformed_parts_are_explained() {
        let raw: &RawValue = serde_json::from_str(r#""just a string""#).unwrap();
        assert_eq!(
            container(raw).err().unwrap(),
            "must be an object, not \"just a string\""
        );
        let raw: &RawValue = serde_json::from_str(r#"[1]"#).unwrap();
        assert_eq!(
            security_context(Some(raw)).unwrap_err(),
            "securityContext must be an object, not a list"
        );
    }

    #[test]
    fn seccomp_type_empty_counts_as_unset() {
        let context: Map<String, Value> =
            serde_json::from_str(r#"{"seccompProfile": {"type": ""}}"#).unwrap();
        assert_eq!(seccomp_profile_type(Some(&context)), None);
        let context: Map<String, Value> =
            serde_json::from_str(r#"{"seccompProfile": {"type": "Unconfined"}}"#).unwrap();
        assert_eq!(seccomp_profile_type(Some(&context)), Some("Unconfined"));
    }
}
