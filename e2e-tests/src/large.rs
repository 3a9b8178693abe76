//! The largest requests a user can make the policy read, generated here
//! rather than stored: thousands of labels, annotations or containers. A
//! policy must answer each in time that grows linearly with its size, or one
//! user can keep a policy-server worker busy past its timeout.

use serde_json::{Map, Value, json};

use crate::request::complete_request;

/// Labels on a Deployment's metadata and on its pod template: with the old
/// object as well, about 2 MB, under the API server's 3 MiB request limit.
pub const DEPLOYMENT_LABELS: usize = 20_000;
/// AppArmor annotations on one Pod.
pub const APPARMOR_ANNOTATIONS: usize = 50_000;
/// Containers in one Pod.
pub const CONTAINERS: usize = 1_000;

/// The AppArmor annotation prefix Pod Security Admission reads.
pub const APPARMOR_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

/// One generated request with the settings it runs under.
pub struct LargeRequest {
    pub name: &'static str,
    pub settings: Value,
    /// The full AdmissionRequest.
    pub request: Value,
}

/// Every large request at its full size, for the tests and benchmarks.
pub fn all() -> Vec<LargeRequest> {
    vec![
        deployment_template_label_changed(DEPLOYMENT_LABELS),
        deployment_metadata_label_changed(DEPLOYMENT_LABELS),
        pod_with_apparmor_annotations(APPARMOR_ANNOTATIONS),
        pod_with_containers(CONTAINERS),
    ]
}

/// The settings of the Deployment updates: every default, then restricted.
pub fn restricted_settings() -> Value {
    json!({"secure_pod_defaults": "enabled", "pod_security": "restricted"})
}

/// `count` labels, `label-00000: value-00000` and so on; the one at
/// `changed` (if any) has another value.
fn labels(count: usize, changed: Option<usize>) -> Map<String, Value> {
    (0..count)
        .map(|index| {
            let value = if changed == Some(index) {
                format!("changed-{index:05}")
            } else {
                format!("value-{index:05}")
            };
            (format!("label-{index:05}"), json!(value))
        })
        .collect()
}

/// A Deployment whose one container sets no securityContext.
fn deployment(metadata_labels: Map<String, Value>, template_labels: Map<String, Value>) -> Value {
    let mut template_labels = template_labels;
    template_labels.insert("app".into(), json!("catalog"));
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "catalog", "namespace": "shop", "labels": metadata_labels},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "catalog"}},
            "template": {
                "metadata": {"labels": template_labels},
                "spec": {
                    "containers": [{
                        "name": "catalog",
                        "image": "registry.example.com/shop/catalog:4.2",
                        "ports": [{"containerPort": 8080}],
                    }],
                },
            },
        },
    })
}

fn update(object: Value, old_object: Value) -> Value {
    complete_request(&json!({"operation": "UPDATE", "object": object, "oldObject": old_object}))
        .expect("a generated request is complete")
}

/// An UPDATE of a Deployment with `labels` labels on its metadata and its
/// pod template, where one template label changes: a template change, as a
/// rollout makes.
pub fn deployment_template_label_changed(labels_count: usize) -> LargeRequest {
    let middle = Some(labels_count / 2);
    LargeRequest {
        name: "Deployment UPDATE, one template label changed",
        settings: restricted_settings(),
        request: update(
            deployment(labels(labels_count, None), labels(labels_count, middle)),
            deployment(labels(labels_count, None), labels(labels_count, None)),
        ),
    }
}

/// The same Deployment where one label of its own metadata changes and the
/// pod template does not.
pub fn deployment_metadata_label_changed(labels_count: usize) -> LargeRequest {
    let middle = Some(labels_count / 2);
    LargeRequest {
        name: "Deployment UPDATE, one metadata label changed",
        settings: restricted_settings(),
        request: update(
            deployment(labels(labels_count, middle), labels(labels_count, None)),
            deployment(labels(labels_count, None), labels(labels_count, None)),
        ),
    }
}

/// A Pod CREATE with two containers, `app` and `proxy`, and `count`
/// AppArmor annotations: `app`'s is `unconfined`, `proxy`'s and all the
/// others `runtime/default`, the others naming containers the Pod does not
/// have (`agent-N` sorted before `app`, `worker-N` after it).
pub fn pod_with_apparmor_annotations(count: usize) -> LargeRequest {
    let ghosts = count.saturating_sub(2);
    let mut annotations: Map<String, Value> = (0..ghosts)
        .map(|index| {
            let container = if index < ghosts / 2 {
                format!("agent-{index:05}")
            } else {
                format!("worker-{index:05}")
            };
            (
                format!("{APPARMOR_PREFIX}{container}"),
                json!("runtime/default"),
            )
        })
        .collect();
    annotations.insert(format!("{APPARMOR_PREFIX}app"), json!("unconfined"));
    annotations.insert(format!("{APPARMOR_PREFIX}proxy"), json!("runtime/default"));
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "storefront", "namespace": "shop", "annotations": annotations},
        "spec": {
            "containers": [
                {"name": "app", "image": "registry.example.com/shop/storefront:2.0"},
                {"name": "proxy", "image": "registry.example.com/shop/proxy:1.9"},
            ],
        },
    });
    LargeRequest {
        name: "Pod CREATE, AppArmor annotations",
        settings: json!({"secure_pod_defaults": "root-allowed", "pod_security": "baseline"}),
        request: complete_request(&json!({"object": pod}))
            .expect("a generated request is complete"),
    }
}

/// A Pod CREATE with `count` containers `worker-N`, none of which sets a
/// securityContext.
pub fn pod_with_containers(count: usize) -> LargeRequest {
    let containers: Vec<Value> = (0..count)
        .map(|index| {
            json!({
                "name": format!("worker-{index}"),
                "image": "registry.example.com/shop/worker:1.0",
                "ports": [{"containerPort": 8080}],
            })
        })
        .collect();
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "batch", "namespace": "shop"},
        "spec": {"containers": containers},
    });
    LargeRequest {
        name: "Pod CREATE, containers",
        settings: json!({"secure_pod_defaults": "enabled"}),
        request: complete_request(&json!({"object": pod}))
            .expect("a generated request is complete"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_change_is_one_template_label() {
        let generated = deployment_template_label_changed(10);
        let request = &generated.request;
        assert_eq!(request["kind"]["kind"], "Deployment");
        assert_eq!(request["operation"], "UPDATE");
        assert_eq!(
            request["object"]["metadata"],
            request["oldObject"]["metadata"]
        );
        let labels =
            |object: &str| request[object]["spec"]["template"]["metadata"]["labels"].clone();
        let (new, old) = (labels("object"), labels("oldObject"));
        assert_eq!(new.as_object().unwrap().len(), 11, "10 and app");
        let differing: Vec<&String> = new
            .as_object()
            .unwrap()
            .iter()
            .filter(|(key, value)| old[key.as_str()] != **value)
            .map(|(key, _)| key)
            .collect();
        assert_eq!(differing, vec!["label-00005"]);
    }

    #[test]
    fn the_metadata_change_leaves_the_template_alone() {
        let request = deployment_metadata_label_changed(10).request;
        assert_eq!(request["object"]["spec"], request["oldObject"]["spec"]);
        assert_ne!(
            request["object"]["metadata"],
            request["oldObject"]["metadata"]
        );
    }

    #[test]
    fn one_annotation_names_a_real_container_unconfined() {
        let request = pod_with_apparmor_annotations(10).request;
        let annotations = request["object"]["metadata"]["annotations"]
            .as_object()
            .unwrap();
        assert_eq!(annotations.len(), 10);
        let unconfined: Vec<&String> = annotations
            .iter()
            .filter(|(_, value)| *value == "unconfined")
            .map(|(key, _)| key)
            .collect();
        assert_eq!(unconfined, vec![&format!("{APPARMOR_PREFIX}app")]);
    }

    #[test]
    fn the_pod_has_the_containers_asked_for() {
        let request = pod_with_containers(3).request;
        let containers = request["object"]["spec"]["containers"].as_array().unwrap();
        assert_eq!(containers.len(), 3);
        assert_eq!(containers[2]["name"], "worker-2");
    }
}
