//! Requests built in code rather than kept as files: Pods of many
//! containers, and objects of megabytes that a user may send to make one
//! policy call expensive (a policy's time must grow linearly with them).
//! Each function returns a request as the case files write it, to be
//! completed with `complete_request`.

use serde_json::{Map, Value, json};

/// A Pod of `count` copies of one realistic container whose securityContext
/// sets only `readOnlyRootFilesystem`, so that a policy has every other field
/// to default in each container.
pub fn pod_with_containers(count: usize) -> Value {
    let containers: Vec<Value> = (0..count)
        .map(|index| {
            json!({
                "name": format!("worker-{index}"),
                "image": "registry.example.com/batch/worker:4.2.0",
                "args": ["--queue=jobs", format!("--shard={index}")],
                "ports": [{"name": "metrics", "containerPort": 9100 + index}],
                "env": [
                    {"name": "QUEUE_URL", "value": "amqp://queue.batch.svc:5672"},
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "QUEUE_PASSWORD",
                     "valueFrom": {"secretKeyRef": {"name": "queue", "key": "password"}}}
                ],
                "resources": {
                    "requests": {"cpu": "100m", "memory": "128Mi"},
                    "limits": {"memory": "256Mi"}
                },
                "livenessProbe": {"httpGet": {"path": "/healthz", "port": "metrics"}, "periodSeconds": 10},
                "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
                "securityContext": {"readOnlyRootFilesystem": true}
            })
        })
        .collect();
    json!({
        "operation": "CREATE",
        "object": {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": format!("workers-{count}"), "namespace": "batch"},
            "spec": {
                "containers": containers,
                "volumes": [{"name": "scratch", "emptyDir": {}}]
            }
        }
    })
}

/// `count` labels `label-00000: v-00000`, ... 24 bytes each as JSON: the
/// UPDATE with 20,000 of them on the metadata and on the template of the
/// object and of the old object comes to about 2 MB, just under the 2 MiB
/// that policy-server reads of a request body; with 50,000 the object alone
/// stays under the API server's 3 MiB.
fn labels(count: usize) -> Map<String, Value> {
    (0..count)
        .map(|index| {
            (
                format!("label-{index:05}"),
                Value::from(format!("v-{index:05}")),
            )
        })
        .collect()
}

/// A Deployment whose metadata and pod template each carry `count` labels,
/// with `template_label` set on the template.
fn labelled_deployment(count: usize, template_label: &str) -> Value {
    let mut template_labels = labels(count);
    template_labels.insert("app".into(), json!("labelled"));
    template_labels.insert("revision".into(), json!(template_label));
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "labelled", "namespace": "bulk", "labels": labels(count)},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "labelled"}},
            "template": {
                "metadata": {"labels": template_labels},
                "spec": {
                    "containers": [{
                        "name": "app",
                        "image": "registry.example.com/bulk/app:1.0.0",
                        "ports": [{"containerPort": 8080}]
                    }]
                }
            }
        }
    })
}

/// An UPDATE of a Deployment whose metadata and pod template each carry
/// `count` labels; the old object differs in one template label, so the
/// template changed and a policy cannot skip it as unchanged.
pub fn deployment_update_with_labels(count: usize) -> Value {
    json!({
        "operation": "UPDATE",
        "object": labelled_deployment(count, "2"),
        "oldObject": labelled_deployment(count, "1"),
    })
}

/// A Pod CREATE with `count` AppArmor annotations
/// `container.apparmor.security.beta.kubernetes.io/c<N>: runtime/default`,
/// of which only `c0` names one of its containers.
pub fn pod_with_apparmor_annotations(count: usize) -> Value {
    let annotations: Map<String, Value> = (0..count)
        .map(|index| {
            (
                format!("container.apparmor.security.beta.kubernetes.io/c{index}"),
                json!("runtime/default"),
            )
        })
        .collect();
    json!({
        "operation": "CREATE",
        "object": {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "annotated", "namespace": "bulk", "annotations": annotations},
            "spec": {
                "containers": [{"name": "c0", "image": "registry.example.com/bulk/app:1.0.0"}]
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::complete_request;

    #[test]
    fn the_label_update_changes_only_the_template() {
        let request = deployment_update_with_labels(3);
        let object = &request["object"];
        let old = &request["oldObject"];
        assert_eq!(object["metadata"], old["metadata"]);
        assert_ne!(object["spec"]["template"], old["spec"]["template"]);
        assert_eq!(
            object["spec"]["template"]["metadata"]["labels"]
                .as_object()
                .unwrap()
                .len(),
            5
        );
        assert_eq!(
            object["metadata"]["labels"]["label-00002"],
            json!("v-00002")
        );
    }

    #[test]
    fn fifty_thousand_labels_fit_the_api_servers_limit() {
        let request = deployment_update_with_labels(50_000);
        let bytes = serde_json::to_vec(&request["object"]).unwrap().len();
        assert!(bytes < 3 * 1024 * 1024, "{bytes} bytes");
    }

    #[test]
    fn twenty_thousand_labels_fit_policy_servers_limit() {
        let request = complete_request(&deployment_update_with_labels(20_000)).unwrap();
        let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                            "request": request});
        let bytes = serde_json::to_vec(&review).unwrap().len();
        assert!(
            (1_800_000..2 * 1024 * 1024).contains(&bytes),
            "{bytes} bytes"
        );
    }

    #[test]
    fn generated_requests_complete() {
        for request in [
            pod_with_containers(2),
            deployment_update_with_labels(2),
            pod_with_apparmor_annotations(2),
        ] {
            let complete = complete_request(&request).unwrap();
            assert!(complete["kind"]["kind"].is_string());
        }
        let annotations = &pod_with_apparmor_annotations(2)["object"]["metadata"]["annotations"];
        assert_eq!(
            annotations["container.apparmor.security.beta.kubernetes.io/c1"],
            json!("runtime/default")
        );
    }
}
