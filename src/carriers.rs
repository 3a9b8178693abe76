//! Where the pod spec lives in each kind the policy covers, and the walk
//! down to it.
//!
//! Every carrier holds a pod template: an object with `metadata` and `spec`,
//! where `spec` is a PodSpec (for a Knative Revision, a RevisionSpec, which
//! inlines a PodSpec). For a Pod and a Revision the template is the object
//! itself.
//!
//! The walk reads the object once, from its top down to the template: at
//! each level only the key that leads on is followed, the object's own
//! metadata (for its owners) and the template's are read, and every other
//! field is skipped by serde without building anything. (Reading each level
//! as text and then reading that text again would read a CronJob's
//! containers five times before the rules even start.)

use crate::podspec::{Metadata, Pod, PodSpec, Raw, read, reason};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

/// An object's pod template, read.
#[derive(Debug)]
pub struct Template<'a> {
    /// The admitted object's `metadata.ownerReferences`.
    pub owners: Vec<OwnerReference>,
    /// The template's `metadata`, read.
    pub metadata: Metadata,
    /// The template's pod `spec`, unless it is missing or `null`.
    pub spec: Option<PodSpec<'a>>,
    /// The pod spec's text, when it was asked for.
    pub spec_text: Option<&'a RawValue>,
}

/// How a pod spec is reached and treated in one kind.
#[derive(Debug, PartialEq, Eq)]
pub struct Carrier {
    pub group: &'static str,
    pub kind: &'static str,
    /// Keys from the object down to the pod template.
    pub template_path: &'static [&'static str],
    /// The pod spec of an existing object can never change (Pods, Knative
    /// Revisions), so an UPDATE is never mutated.
    pub immutable: bool,
    /// Knative's own webhook refuses pod-level securityContext fields unless
    /// its `kubernetes.podspec-securitycontext` flag is on, so defaults that
    /// belong to the pod are written on each container instead.
    pub knative: bool,
}

const KNATIVE_SERVING: &str = "serving.knative.dev";
const WORKLOAD_TEMPLATE: &[&str] = &["spec", "template"];

const fn workload(group: &'static str, kind: &'static str) -> Carrier {
    Carrier {
        group,
        kind,
        template_path: WORKLOAD_TEMPLATE,
        immutable: false,
        knative: false,
    }
}

pub const CARRIERS: &[Carrier] = &[
    Carrier {
        group: "",
        kind: "Pod",
        template_path: &[],
        immutable: true,
        knative: false,
    },
    Carrier {
        group: "",
        kind: "PodTemplate",
        template_path: &["template"],
        immutable: false,
        knative: false,
    },
    workload("", "ReplicationController"),
    workload("apps", "Deployment"),
    workload("apps", "ReplicaSet"),
    workload("apps", "StatefulSet"),
    workload("apps", "DaemonSet"),
    workload("batch", "Job"),
    Carrier {
        group: "batch",
        kind: "CronJob",
        template_path: &["spec", "jobTemplate", "spec", "template"],
        immutable: false,
        knative: false,
    },
    Carrier {
        knative: true,
        ..workload(KNATIVE_SERVING, "Service")
    },
    Carrier {
        knative: true,
        ..workload(KNATIVE_SERVING, "Configuration")
    },
    Carrier {
        group: KNATIVE_SERVING,
        kind: "Revision",
        template_path: &[],
        immutable: true,
        knative: true,
    },
];

/// The carrier of a kind, by API group and kind (any version: the pod
/// template sits at the same place in every served version).
pub fn carrier(group: &str, kind: &str) -> Option<&'static Carrier> {
    CARRIERS
        .iter()
        .find(|carrier| carrier.group == group && carrier.kind == kind)
}

impl Carrier {
    /// The dotted path of the pod spec, as messages show it:
    /// `spec.template.spec` for a Deployment, `spec` for a Pod.
    pub fn pod_spec_path(&self) -> String {
        self.template_field_path("spec")
    }

    /// The dotted path of the pod template's metadata:
    /// `spec.template.metadata` for a Deployment, `metadata` for a Pod.
    pub fn pod_metadata_path(&self) -> String {
        self.template_field_path("metadata")
    }

    /// Reads `object` down to its pod template, in one pass (`None` when
    /// the object has none). Only the fields on the way are read. The pod
    /// spec's text is kept too with `keep_spec_text`; it costs a second
    /// read of the whole spec.
    pub fn read_template<'a>(
        &self,
        object: &'a RawValue,
        keep_spec_text: bool,
    ) -> Result<Option<Template<'a>>, String> {
        let walked = self.walk(object, Goal::Template { keep_spec_text })?;
        let mut spec = walked.spec;
        if let Some(text) = walked.text {
            spec = read(text.get(), &self.pod_spec_path())?;
        }
        Ok(walked.reached.then_some(Template {
            owners: walked.owners,
            metadata: walked.metadata,
            spec,
            spec_text: walked.text,
        }))
    }

    /// Reads `object`'s pod for the rules: its template's metadata and pod
    /// spec, and the object's owners (`None` when it has no pod spec). Only
    /// a default that adds a field to the pod spec itself (a pod-level
    /// securityContext where there is none) needs `keep_spec_text`.
    pub fn read_pod<'a>(
        &self,
        object: &'a RawValue,
        keep_spec_text: bool,
    ) -> Result<Option<Pod<'a>>, String> {
        let Some(Template {
            owners,
            metadata,
            spec: Some(spec),
            spec_text,
        }) = self.read_template(object, keep_spec_text)?
        else {
            return Ok(None);
        };
        let pod = Pod::read(
            spec,
            spec_text,
            metadata,
            self.pod_spec_path(),
            self.pod_metadata_path(),
        )?;
        Ok(Some(Pod { owners, ..pod }))
    }

    /// The text of `object`'s whole pod template (`None` when it has none),
    /// to compare an update's old and new templates.
    pub fn template_text<'a>(&self, object: &'a RawValue) -> Result<Option<&'a RawValue>, String> {
        if self.template_path.is_empty() {
            return Ok(Some(object));
        }
        Ok(self.walk(object, Goal::Text)?.text)
    }

    fn walk<'a>(&self, object: &'a RawValue, goal: Goal) -> Result<Walked<'a>, String> {
        let walked = RefCell::new(Walked::default());
        let top = Level {
            keys: self.template_path,
            depth: 0,
            goal,
            walked: &walked,
        };
        let mut deserializer = serde_json::Deserializer::from_slice(object.get().as_bytes());
        let read = top
            .deserialize(&mut deserializer)
            .and_then(|()| deserializer.end());
        let walked = walked.into_inner();
        match read {
            Ok(()) => Ok(walked),
            Err(error) if walked.part.is_empty() => Err(reason(&error)),
            Err(error) => Err(format!("{}: {}", walked.part, reason(&error))),
        }
    }

    fn template_field_path(&self, field: &str) -> String {
        let mut path = String::new();
        for key in self.template_path {
            path.push_str(key);
            path.push('.');
        }
        path.push_str(field);
        path
    }
}

/// What the walk reads at the pod template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Goal {
    /// Its metadata, and its pod spec (as text only, when it is kept).
    Template { keep_spec_text: bool },
    /// Its whole text.
    Text,
}

/// What the walk found, filled in as it goes down.
#[derive(Default)]
struct Walked<'a> {
    /// The object's owners.
    owners: Vec<OwnerReference>,
    /// The template's metadata.
    metadata: Metadata,
    /// The template's pod spec, read, unless its text is kept.
    spec: Option<PodSpec<'a>>,
    /// The text of the template's pod spec, when it is kept, or of the whole
    /// template ([`Goal::Text`]); `None` when missing or `null`.
    text: Option<&'a RawValue>,
    /// Whether the template was found.
    reached: bool,
    /// The dotted path of the part being read, which a refusal names.
    part: String,
}

/// One object on the way down: the admitted object (`depth` 0), a
/// `template`, a CronJob's `jobTemplate` and its `spec`, and the template.
#[derive(Clone, Copy)]
struct Level<'w, 'a> {
    /// The whole path from the object to the template.
    keys: &'static [&'static str],
    /// How many keys lead to this level.
    depth: usize,
    goal: Goal,
    walked: &'w RefCell<Walked<'a>>,
}

impl Level<'_, '_> {
    fn at_template(&self) -> bool {
        self.depth == self.keys.len()
    }

    /// Names `field` of this level as the part being read.
    fn enter(&self, field: &str) {
        let mut part = self.keys[..self.depth].join(".");
        if !part.is_empty() {
            part.push('.');
        }
        part.push_str(field);
        self.walked.borrow_mut().part = part;
    }

    /// Back at this level, once a field was read.
    fn leave(&self) {
        self.walked.borrow_mut().part = self.keys[..self.depth].join(".");
    }
}

impl<'de, 'w> DeserializeSeed<'de> for Level<'w, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, 'w> Visitor<'de> for Level<'w, 'de> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let next_key = self.keys.get(self.depth).copied();
        let mut seen: Vec<&'static str> = Vec::new();
        let mut first_time = |field: &'static str| match seen.contains(&field) {
            true => Err(de::Error::duplicate_field(field)),
            false => {
                seen.push(field);
                Ok(())
            }
        };
        self.walked.borrow_mut().reached |= self.at_template();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "metadata" if self.depth == 0 || self.at_template() => {
                    first_time("metadata")?;
                    self.enter("metadata");
                    let mut metadata = map.next_value::<Option<Metadata>>()?.unwrap_or_default();
                    self.leave();
                    let mut walked = self.walked.borrow_mut();
                    if self.depth == 0 {
                        walked.owners = metadata.owner_references.take().unwrap_or_default();
                    }
                    if self.at_template() {
                        walked.metadata = metadata;
                    }
                }
                "spec" if self.at_template() => {
                    first_time("spec")?;
                    self.enter("spec");
                    if self.goal
                        == (Goal::Template {
                            keep_spec_text: false,
                        })
                    {
                        let spec: Option<PodSpec> = map.next_value()?;
                        self.walked.borrow_mut().spec = spec;
                    } else {
                        let text: Raw = map.next_value()?;
                        self.walked.borrow_mut().text = text.set();
                    }
                    self.leave();
                }
                key if Some(key) == next_key => {
                    let key = next_key.unwrap_or_default();
                    first_time(key)?;
                    self.enter(key);
                    if self.goal == Goal::Text && self.depth + 1 == self.keys.len() {
                        let template: Raw = map.next_value()?;
                        let mut walked = self.walked.borrow_mut();
                        walked.text = template.set();
                        walked.reached = walked.text.is_some();
                    } else {
                        map.next_value_seed(Below(Level {
                            depth: self.depth + 1,
                            ..self
                        }))?;
                    }
                    self.leave();
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// The level below, unless it is `null`.
struct Below<'w, 'a>(Level<'w, 'a>);

impl<'de, 'w> DeserializeSeed<'de> for Below<'w, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, 'w> Visitor<'de> for Below<'w, 'de> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an object")
    }

    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.0.deserialize(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_pod_spec_path() {
        let paths: Vec<(&str, String)> = CARRIERS
            .iter()
            .map(|carrier| (carrier.kind, carrier.pod_spec_path()))
            .collect();
        assert_eq!(
            paths,
            vec![
                ("Pod", "spec".to_string()),
                ("PodTemplate", "template.spec".to_string()),
                ("ReplicationController", "spec.template.spec".to_string()),
                ("Deployment", "spec.template.spec".to_string()),
                ("ReplicaSet", "spec.template.spec".to_string()),
                ("StatefulSet", "spec.template.spec".to_string()),
                ("DaemonSet", "spec.template.spec".to_string()),
                ("Job", "spec.template.spec".to_string()),
                ("CronJob", "spec.jobTemplate.spec.template.spec".to_string()),
                ("Service", "spec.template.spec".to_string()),
                ("Configuration", "spec.template.spec".to_string()),
                ("Revision", "spec".to_string()),
            ]
        );
    }

    fn raw(text: &str) -> &RawValue {
        serde_json::from_str(text).unwrap()
    }

    const CRONJOB: &str = r#"{
        "metadata": {"name": "nightly", "ownerReferences": [{"apiVersion": "v1", "kind": "Owner", "name": "o", "uid": "1"}],
                     "annotations": {"on": "cronjob"}},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {"metadata": {"annotations": {"on": "job"}},
          "spec": {"backoffLimit": 2, "template": {"metadata": {"annotations": {"on": "pod"}},
            "spec": {"containers": [{"name": "backup"}]}}}}},
        "status": {"active": []}}"#;

    #[test]
    fn the_walk_reads_the_owners_and_the_template_of_a_cronjob() {
        let cronjob = carrier("batch", "CronJob").unwrap();
        let template = cronjob.read_template(raw(CRONJOB), true).unwrap().unwrap();
        assert_eq!(template.owners.len(), 1);
        assert_eq!(template.owners[0].kind, "Owner");
        let annotations = template.metadata.annotations.unwrap();
        assert_eq!(annotations["on"], "pod");
        assert_eq!(
            template.spec_text.unwrap().get(),
            r#"{"containers": [{"name": "backup"}]}"#
        );
        assert_eq!(template.spec.unwrap().containers.unwrap().len(), 1);
        let read_once = cronjob.read_template(raw(CRONJOB), false).unwrap().unwrap();
        assert!(read_once.spec_text.is_none());
        assert_eq!(read_once.spec.unwrap().containers.unwrap().len(), 1);
        let text = cronjob.template_text(raw(CRONJOB)).unwrap().unwrap();
        assert!(
            text.get()
                .starts_with(r#"{"metadata": {"annotations": {"on": "pod"}}"#)
        );
    }

    #[test]
    fn a_missing_or_null_template_is_no_template() {
        let deployment = carrier("apps", "Deployment").unwrap();
        for object in [
            r#"{"metadata": {}}"#,
            r#"{"spec": null}"#,
            r#"{"spec": {"replicas": 1}}"#,
            r#"{"spec": {"template": null}}"#,
        ] {
            assert!(
                deployment
                    .read_template(raw(object), false)
                    .unwrap()
                    .is_none(),
                "{object}"
            );
            assert!(
                deployment.template_text(raw(object)).unwrap().is_none(),
                "{object}"
            );
        }
        let template = deployment
            .read_template(raw(r#"{"spec": {"template": {"spec": null}}}"#), false)
            .unwrap()
            .unwrap();
        assert!(template.spec.is_none());
    }

    #[test]
    fn what_cannot_be_read_is_named_by_its_part() {
        let deployment = carrier("apps", "Deployment").unwrap();
        let refused = |object: &str| deployment.read_template(raw(object), false).unwrap_err();
        assert_eq!(
            refused(r#"{"spec": 5}"#),
            "spec: invalid type: integer `5`, expected an object"
        );
        assert_eq!(
            refused(r#"{"spec": {"template": {"metadata": {"annotations": {"a": 1}}}}}"#),
            "spec.template.metadata: invalid type: integer `1`, expected a string"
        );
        assert_eq!(
            refused(r#"{"metadata": {"ownerReferences": "none"}, "spec": {}}"#),
            "metadata: invalid type: string \"none\", expected a sequence"
        );
        assert_eq!(
            refused(r#"{"spec": {"template": {}, "template": {}}}"#),
            "spec: duplicate field `template`"
        );
        let host_path_5 =
            r#"{"spec": {"template": {"spec": {"volumes": [{"name": "v", "hostPath": 5}]}}}}"#;
        for keep_spec_text in [false, true] {
            assert_eq!(
                deployment
                    .read_template(raw(host_path_5), keep_spec_text)
                    .unwrap_err(),
                "spec.template.spec: invalid type: integer `5`, expected HostPathVolumeSource"
            );
        }
        assert_eq!(refused("[]"), "invalid type: sequence, expected an object");
    }

    #[test]
    fn kinds_are_matched_with_their_group() {
        assert_eq!(carrier("apps", "Deployment").unwrap().kind, "Deployment");
        assert!(
            carrier("", "Service").is_none(),
            "a core Service carries no pods"
        );
        assert!(carrier("serving.knative.dev", "Service").unwrap().knative);
        assert!(carrier("", "ConfigMap").is_none());
    }
}
