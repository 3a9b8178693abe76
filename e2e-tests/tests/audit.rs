//! The real policy-server, from `../shared/bin/` beside the repository,
//! serving the built policy: the audit scanner's requests at `/audit` get
//! the verdict on the object as it runs, the API server's at `/validate` are
//! defaulted as always. Skipped, with the reason printed, when the folder
//! has no policy-server or no kwctl (needed to annotate the module).

use std::time::Duration;

use serde_json::{Value, json};

use secure_pod_defaults_e2e::policy_server::{
    PolicyServer, Scratch, ServedPolicy, Verdict, admission_review, annotated_policy,
    shared_binaries,
};

/// How long one evaluation may take, the connection included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

const ENABLED_RESTRICTED: &str = "enabled-restricted";
const ROOT_ALLOWED: &str = "root-allowed";

/// A bare Pod, as it runs: created before the policy, with no
/// securityContext at all.
fn running_pod() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "shop", "uid": "2c7d3b1a-6e5f-4d4c-9b8a-7f6e5d4c3b2a"},
        "spec": {"containers": [{"name": "web", "image": "registry.example.com/shop/web:3.0"}]}
    })
}

/// A Deployment as it runs, with an init container, no securityContext.
fn running_deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "shop", "namespace": "shop", "uid": "8f1e2d3c-4b5a-4968-8776-655443322110"},
        "spec": {
            "selector": {"matchLabels": {"app": "shop"}},
            "template": {
                "metadata": {"labels": {"app": "shop"}},
                "spec": {
                    "initContainers": [{"name": "migrate", "image": "registry.example.com/shop/migrate:2.1"}],
                    "containers": [{
                        "name": "app",
                        "image": "registry.example.com/shop/app:2.1",
                        "ports": [{"containerPort": 8080}]
                    }]
                }
            }
        }
    })
}

/// `{group, version}` of an object's apiVersion.
fn group_version(object: &Value) -> (&str, &str) {
    let api_version = object["apiVersion"].as_str().expect("an apiVersion");
    api_version.split_once('/').unwrap_or(("", api_version))
}

/// The AdmissionReview the audit scanner posts for an existing object: no
/// apiVersion or kind on the review, a CREATE with the object's uid, the
/// Kind in `resource.resource`, an empty `userInfo`, `oldObject` and
/// `options` null, no `requestResource` and no `dryRun`.
fn from_the_audit_scanner(object: &Value) -> Vec<u8> {
    let (group, version) = group_version(object);
    let kind = object["kind"].as_str().expect("a kind");
    let gvk = json!({"group": group, "version": version, "kind": kind});
    let review = json!({
        "request": {
            "uid": object["metadata"]["uid"],
            "kind": gvk,
            "resource": {"group": group, "version": version, "resource": kind},
            "requestKind": gvk,
            "name": object["metadata"]["name"],
            "namespace": object["metadata"]["namespace"],
            "operation": "CREATE",
            "userInfo": {},
            "object": object,
            "oldObject": null,
            "options": null
        }
    });
    serde_json::to_vec(&review).expect("JSON")
}

/// The AdmissionReview the API server posts when a user creates `object`.
fn from_the_api_server(object: &Value) -> Vec<u8> {
    let request = secure_pod_defaults_e2e::complete_request(&json!({
        "uid": "d0c1b2a3-9e8f-47d6-a5b4-c3d2e1f0a9b8",
        "userInfo": {"username": "alice@example.com", "groups": ["system:authenticated"]},
        "object": object,
    }))
    .expect("a complete request");
    serde_json::to_vec(&admission_review(&request)).expect("JSON")
}

fn verdict(answer: anyhow::Result<secure_pod_defaults_e2e::policy_server::Response>) -> Verdict {
    answer
        .and_then(|response| response.verdict())
        .unwrap_or_else(|error| panic!("{error:#}"))
}

const POD_PREDATES: &str = "The Pod predates these defaults: the policy writes them only when \
     a pod template is created or changed. To pick them up, re-create the Pod, or roll out the \
     workload that owns it.";

#[test]
fn the_audit_endpoint_judges_running_objects_and_validate_still_defaults() {
    let (policy_server, kwctl) = match shared_binaries() {
        Ok(binaries) => binaries,
        Err(reason) => {
            println!("skipped: {reason} (Kubewarden's binaries are not beside the repository)");
            return;
        }
    };
    let scratch = Scratch::new("audit");
    let module = annotated_policy(&kwctl, &scratch).unwrap_or_else(|error| panic!("{error:#}"));
    let policies = [
        ServedPolicy {
            id: ENABLED_RESTRICTED.into(),
            module: module.clone(),
            settings: json!({"secure_pod_defaults": "enabled", "pod_security": "restricted"}),
            allowed_to_mutate: true,
            reads_namespaces: false,
        },
        ServedPolicy {
            id: ROOT_ALLOWED.into(),
            module,
            settings: json!({"secure_pod_defaults": "root-allowed"}),
            allowed_to_mutate: true,
            reads_namespaces: false,
        },
    ];
    let server = PolicyServer::start(&policy_server, &policies, &scratch.0)
        .unwrap_or_else(|error| panic!("{error:#}"));
    let audit =
        |policy: &str, review: &[u8]| verdict(server.audit(policy, review, REQUEST_TIMEOUT));
    let validate =
        |policy: &str, review: &[u8]| verdict(server.validate(policy, review, REQUEST_TIMEOUT));

    // A running Pod with no securityContext fails the audit, every
    // violation listed, where it used to pass once defaulted in the request.
    let pod = running_pod();
    assert_eq!(
        audit(ENABLED_RESTRICTED, &from_the_audit_scanner(&pod)),
        Verdict {
            allowed: false,
            patched: false,
            code: None,
            message: Some(format!(
                "4 violations of PodSecurity \"restricted:latest\" and secure-pod-defaults \"enabled\":\n\
                 - spec.containers[0] \"web\": securityContext.allowPrivilegeEscalation must be false (is unset)\n\
                 - spec.containers[0] \"web\": securityContext.capabilities.drop must be a list that includes ALL (is unset)\n\
                 - spec.containers[0] \"web\": securityContext.runAsNonRoot must be true, here or in the pod's securityContext (is unset)\n\
                 - spec.containers[0] \"web\": securityContext.seccompProfile.type must be RuntimeDefault or Localhost, here or in the pod's securityContext (is unset)\n\
                 {POD_PREDATES}"
            )),
        }
    );
    // The same Pod created by a user is defaulted and admitted.
    let admitted = validate(ENABLED_RESTRICTED, &from_the_api_server(&pod));
    assert!(
        admitted.allowed && admitted.patched,
        "the API server's Pod: {admitted:?}"
    );

    let deployment = running_deployment();
    let audited = audit(ROOT_ALLOWED, &from_the_audit_scanner(&deployment));
    assert!(
        !audited.allowed && !audited.patched,
        "the running Deployment: {audited:?}"
    );
    assert_eq!(
        audited.message.as_deref(),
        Some(
            "6 violations of secure-pod-defaults \"root-allowed\":\n\
             - spec.template.spec.containers[0] \"app\": securityContext.allowPrivilegeEscalation must be false (is unset)\n\
             - spec.template.spec.containers[0] \"app\": securityContext.capabilities.drop must be [ALL] (is unset)\n\
             - spec.template.spec.containers[0] \"app\": securityContext.seccompProfile.type must be RuntimeDefault (is unset)\n\
             - spec.template.spec.initContainers[0] \"migrate\": securityContext.allowPrivilegeEscalation must be false (is unset)\n\
             - spec.template.spec.initContainers[0] \"migrate\": securityContext.capabilities.drop must be [ALL] (is unset)\n\
             - spec.template.spec.initContainers[0] \"migrate\": securityContext.seccompProfile.type must be RuntimeDefault (is unset)\n\
             The Deployment predates these defaults: the policy writes them only when a pod template \
             is created or changed. To pick them up, roll it out: kubectl rollout restart, or any \
             change to its pod template."
        )
    );
    let admitted = validate(ROOT_ALLOWED, &from_the_api_server(&deployment));
    assert!(
        admitted.allowed && admitted.patched,
        "the API server's Deployment: {admitted:?}"
    );

    // What the defaults would write is what the audit asks for: the Pod as
    // the policy admits it today passes.
    let mut defaulted = pod.clone();
    defaulted["spec"]["containers"][0]["securityContext"] = json!({
        "allowPrivilegeEscalation": false,
        "seccompProfile": {"type": "RuntimeDefault"},
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": true
    });
    assert_eq!(
        audit(ENABLED_RESTRICTED, &from_the_audit_scanner(&defaulted)),
        Verdict {
            allowed: true,
            patched: false,
            code: None,
            message: None
        }
    );

    // The policy reads who sent the request, not which endpoint it came
    // to: the API server's request is defaulted at /audit too, and the
    // scanner's is judged at /validate too.
    let at_audit = audit(ENABLED_RESTRICTED, &from_the_api_server(&pod));
    assert!(at_audit.allowed && at_audit.patched, "{at_audit:?}");
    let at_validate = validate(ROOT_ALLOWED, &from_the_audit_scanner(&deployment));
    assert_eq!(at_validate.message, audited.message);
    assert!(!at_validate.allowed);
}
