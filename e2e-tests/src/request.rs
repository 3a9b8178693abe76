//! Completes the short AdmissionRequests written in case and example files
//! into the full AdmissionRequest the API server would send.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// The uid every derived request carries, so answers are reproducible.
pub const DEFAULT_UID: &str = "00000000-0000-4000-8000-00000000e2e0";

/// The fields of an `admission.k8s.io/v1` AdmissionRequest. Anything else in a
/// case file is a typo and is refused rather than silently ignored.
pub const ADMISSION_REQUEST_FIELDS: &[&str] = &[
    "uid",
    "kind",
    "resource",
    "subResource",
    "requestKind",
    "requestResource",
    "requestSubResource",
    "name",
    "namespace",
    "operation",
    "userInfo",
    "object",
    "oldObject",
    "dryRun",
    "options",
];

/// Splits an `apiVersion` into (group, version): `apps/v1` is ("apps", "v1"),
/// the core group's `v1` is ("", "v1").
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

/// The REST resource name of a kind, as the API server puts it in `resource`.
pub fn resource_for_kind(kind: &str) -> String {
    match kind {
        "Pod" => "pods",
        "Deployment" => "deployments",
        "ReplicaSet" => "replicasets",
        "StatefulSet" => "statefulsets",
        "DaemonSet" => "daemonsets",
        "Job" => "jobs",
        "CronJob" => "cronjobs",
        "ReplicationController" => "replicationcontrollers",
        "PodTemplate" => "podtemplates",
        "Service" => "services",
        "Configuration" => "configurations",
        "Revision" => "revisions",
        "ConfigMap" => "configmaps",
        "Namespace" => "namespaces",
        "Ingress" => "ingresses",
        "NetworkPolicy" => "networkpolicies",
        other => return format!("{}s", other.to_lowercase()),
    }
    .to_string()
}

/// Whether a request is written as Kubewarden's audit scanner sends one: a
/// `userInfo` that names no user, which the API server never sends.
pub fn from_the_audit_scanner(request: &Value) -> bool {
    request
        .get("userInfo")
        .is_some_and(|user| user.get("username").is_none_or(|name| name == ""))
}

/// Returns the request with every field its sender always sends filled in.
/// Fields the request already has are kept as written.
///
/// The sender is the API server, unless the request is written as the audit
/// scanner sends one ([`from_the_audit_scanner`]): the scanner names the Kind
/// in `resource.resource` and sends no `requestResource` and no `dryRun`.
pub fn complete_request(partial: &Value) -> Result<Value> {
    let Some(fields) = partial.as_object() else {
        bail!("the request must be a mapping, got: {partial}");
    };
    for key in fields.keys() {
        if !ADMISSION_REQUEST_FIELDS.contains(&key.as_str()) {
            bail!(
                "unknown AdmissionRequest field `{key}` (known: {})",
                ADMISSION_REQUEST_FIELDS.join(", ")
            );
        }
    }
    let mut request = fields.clone();

    let present = |value: Option<&Value>| value.filter(|v| !v.is_null()).cloned();
    let object = present(request.get("object"));
    let old_object = present(request.get("oldObject"));
    // DELETE has only oldObject; every other operation names its kind in object.
    let described = object.as_ref().or(old_object.as_ref());

    request
        .entry("operation")
        .or_insert_with(|| json!("CREATE"));
    request.entry("uid").or_insert_with(|| json!(DEFAULT_UID));

    if !request.contains_key("kind") {
        let described = described
            .context("the request has no kind and no object or oldObject to derive it from")?;
        request.insert("kind".into(), kind_of(described)?);
    }
    let audit_scanner = from_the_audit_scanner(partial);
    let kind = request["kind"].clone();
    if !request.contains_key("resource") {
        let kind_name = kind["kind"]
            .as_str()
            .context("request.kind.kind must be a string")?;
        let resource = if audit_scanner {
            kind_name.to_string()
        } else {
            resource_for_kind(kind_name)
        };
        request.insert(
            "resource".into(),
            json!({"group": kind["group"], "version": kind["version"], "resource": resource}),
        );
    }
    let resource = request["resource"].clone();
    request.entry("requestKind").or_insert(kind);
    if !audit_scanner {
        request.entry("requestResource").or_insert(resource);
    }
    if let Some(sub_resource) = request.get("subResource").cloned() {
        request.entry("requestSubResource").or_insert(sub_resource);
    }

    if !request.contains_key("name")
        && let Some(name) = described.and_then(|o| o.pointer("/metadata/name"))
    {
        request.insert("name".into(), name.clone());
    }
    if !request.contains_key("namespace") {
        let namespace = described
            .and_then(|o| o.pointer("/metadata/namespace"))
            .cloned()
            .unwrap_or_else(|| json!("default"));
        request.insert("namespace".into(), namespace);
    }
    request
        .entry("userInfo")
        .or_insert_with(|| json!({"username": "kubernetes-admin", "groups": ["system:masters"]}));
    if !audit_scanner {
        request.entry("dryRun").or_insert(json!(false));
    }

    Ok(Value::Object(request))
}

/// `{group, version, kind}` of an object, read from its apiVersion and kind.
fn kind_of(object: &Value) -> Result<Value> {
    let api_version = object["apiVersion"]
        .as_str()
        .context("object.apiVersion is missing, so the request kind cannot be derived")?;
    let kind = object["kind"]
        .as_str()
        .context("object.kind is missing, so the request kind cannot be derived")?;
    let (group, version) = split_api_version(api_version);
    Ok(json!({"group": group, "version": version, "kind": kind}))
}

/// The object of a request: None when absent or null (DELETE).
pub fn request_object(request: &Value) -> Option<&Value> {
    request.get("object").filter(|o| !o.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_version_with_a_group() {
        assert_eq!(split_api_version("apps/v1"), ("apps", "v1"));
        assert_eq!(
            split_api_version("serving.knative.dev/v1"),
            ("serving.knative.dev", "v1")
        );
    }

    #[test]
    fn core_api_version_has_the_empty_group() {
        assert_eq!(split_api_version("v1"), ("", "v1"));
    }

    #[test]
    fn resources_are_lowercase_plurals() {
        assert_eq!(resource_for_kind("Deployment"), "deployments");
        assert_eq!(resource_for_kind("CronJob"), "cronjobs");
        assert_eq!(
            resource_for_kind("ReplicationController"),
            "replicationcontrollers"
        );
        assert_eq!(resource_for_kind("Configuration"), "configurations");
        assert_eq!(resource_for_kind("Widget"), "widgets");
    }

    #[test]
    fn derives_every_field_from_the_object() {
        let request = complete_request(&json!({
            "object": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "shop"},
            }
        }))
        .unwrap();
        assert_eq!(request["operation"], "CREATE");
        assert_eq!(request["uid"], DEFAULT_UID);
        assert_eq!(
            request["kind"],
            json!({"group": "apps", "version": "v1", "kind": "Deployment"})
        );
        assert_eq!(
            request["resource"],
            json!({"group": "apps", "version": "v1", "resource": "deployments"})
        );
        assert_eq!(request["requestKind"], request["kind"]);
        assert_eq!(request["requestResource"], request["resource"]);
        assert_eq!(request["name"], "web");
        assert_eq!(request["namespace"], "shop");
        assert_eq!(request["userInfo"]["username"], "kubernetes-admin");
        assert!(request.get("requestSubResource").is_none());
    }

    #[test]
    fn core_kind_has_the_empty_group_and_default_namespace() {
        let request = complete_request(&json!({
            "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}
        }))
        .unwrap();
        assert_eq!(
            request["kind"],
            json!({"group": "", "version": "v1", "kind": "Pod"})
        );
        assert_eq!(request["resource"]["resource"], "pods");
        assert_eq!(request["namespace"], "default");
    }

    #[test]
    fn delete_derives_from_the_old_object() {
        let request = complete_request(&json!({
            "operation": "DELETE",
            "oldObject": {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "namespace": "n"}}
        }))
        .unwrap();
        assert_eq!(request["operation"], "DELETE");
        assert_eq!(
            request["kind"],
            json!({"group": "batch", "version": "v1", "kind": "Job"})
        );
        assert_eq!(request["name"], "j");
        assert_eq!(request["namespace"], "n");
        assert!(request_object(&request).is_none());
    }

    #[test]
    fn written_fields_are_kept() {
        let request = complete_request(&json!({
            "operation": "UPDATE",
            "subResource": "ephemeralcontainers",
            "namespace": "other",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}}
        }))
        .unwrap();
        assert_eq!(request["operation"], "UPDATE");
        assert_eq!(request["namespace"], "other");
        assert_eq!(request["requestSubResource"], "ephemeralcontainers");
    }

    #[test]
    fn an_empty_user_info_is_completed_as_the_audit_scanner_sends_it() {
        let written = json!({
            "userInfo": {},
            "object": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}}
        });
        assert!(from_the_audit_scanner(&written));
        let request = complete_request(&written).unwrap();
        assert_eq!(request["operation"], "CREATE");
        assert_eq!(request["userInfo"], json!({}));
        assert_eq!(
            request["resource"],
            json!({"group": "apps", "version": "v1", "resource": "Deployment"})
        );
        assert_eq!(request["requestKind"], request["kind"]);
        assert!(request.get("requestResource").is_none());
        assert!(request.get("dryRun").is_none());
        assert!(request.get("oldObject").is_none());
        assert_eq!(request["namespace"], "shop");

        let anonymous =
            json!({"userInfo": {"username": "system:anonymous"}, "object": written["object"]});
        assert!(!from_the_audit_scanner(&anonymous));
        assert!(!from_the_audit_scanner(
            &json!({"object": written["object"]})
        ));
        assert!(from_the_audit_scanner(
            &json!({"userInfo": {"username": ""}})
        ));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = complete_request(&json!({"oldobject": {}})).unwrap_err();
        assert!(err.to_string().contains("oldobject"), "{err}");
    }

    #[test]
    fn a_request_without_any_kind_is_refused() {
        assert!(complete_request(&json!({"operation": "DELETE"})).is_err());
    }
}
