//! Where the pod spec lives in each kind the policy covers.
//!
//! Every carrier holds a pod template: an object with `metadata` and `spec`,
//! where `spec` is a PodSpec (for a Knative Revision, a RevisionSpec, which
//! inlines a PodSpec). For a Pod and a Revision the template is the object
//! itself.

use crate::podspec::{self, Metadata, Node};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use serde_json::value::RawValue;

/// An object's pod template, read.
#[derive(Debug)]
pub struct Template<'a> {
    /// The admitted object's `metadata.ownerReferences`.
    pub owners: Vec<OwnerReference>,
    /// The template's text (the whole object for a Pod or a Revision).
    pub text: &'a RawValue,
    /// The template's `metadata`, read.
    pub metadata: Metadata,
    /// The template's pod `spec` (and `metadata`, as text).
    pub node: Node<'a>,
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

    /// Reads `object` down to its pod template (`None` when the object has
    /// none). Only the fields on the way are read; everything else is
    /// skipped.
    pub fn read_template<'a>(&self, object: &'a RawValue) -> Result<Option<Template<'a>>, String> {
        let mut node: Node = podspec::read(object.get(), "")?;
        let mut metadata = node.metadata("metadata")?;
        let owners = metadata.owner_references.take().unwrap_or_default();
        let mut text = object;
        let mut path = String::new();
        for key in self.template_path {
            let Some(next) = node.next(key) else {
                return Ok(None);
            };
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(key);
            text = next;
            node = podspec::read_at(text.get(), || path.clone())?;
        }
        // For a Pod or a Revision the template is the object itself, whose
        // metadata was just read.
        if !self.template_path.is_empty() {
            metadata = node.metadata(&self.pod_metadata_path())?;
        }
        Ok(Some(Template {
            owners,
            text,
            metadata,
            node,
        }))
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
