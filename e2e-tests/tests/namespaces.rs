//! The real policy-server, from `../shared/bin/` beside the repository,
//! serving the built policy with `namespace_labels: true` and reading
//! Namespaces from a fake Kubernetes API (`src/fake_api.rs`): each Pod gets
//! its namespace's levels, a namespace that does not exist and a policy
//! deployed without contextAwareResources leave the settings with a warning,
//! and the host's cache spares the API server a read per request. Skipped,
//! with the reason printed, when the folder has no policy-server or no
//! kwctl (needed to annotate the module).

use std::time::Duration;

use serde_json::{Value, json};

use secure_pod_defaults_e2e::Answer;
use secure_pod_defaults_e2e::fake_api::FakeApi;
use secure_pod_defaults_e2e::kwctl::parse_response_line;
use secure_pod_defaults_e2e::policy_server::{
    PolicyServer, Scratch, ServedPolicy, admission_review, annotated_policy, shared_binaries,
};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Granted the lookup, as the README's ClusterAdmissionPolicy.
const PER_NAMESPACE: &str = "per-namespace";
/// The same settings, deployed without contextAwareResources.
const NOT_GRANTED: &str = "not-granted";

fn namespace(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace",
           "metadata": {"name": name, "uid": format!("uid-{name}"), "labels": labels,
                        "creationTimestamp": "2026-01-05T09:00:00Z"},
           "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
}

/// A user's bare Pod in `namespace`, as the API server posts it.
fn bare_pod(namespace: &str, name: &str) -> Vec<u8> {
    let request = secure_pod_defaults_e2e::complete_request(&json!({
        "userInfo": {"username": "alice@example.com", "groups": ["system:authenticated"]},
        "object": {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"containers": [{"name": "web", "image": "registry.example.com/shop/web:3.0"}]}
        },
    }))
    .expect("a complete request");
    serde_json::to_vec(&admission_review(&request)).expect("JSON")
}

/// The server's AdmissionResponse, read as kwctl prints it.
fn answer(server: &PolicyServer, policy: &str, review: &[u8]) -> Answer {
    let response = server
        .validate(policy, review, REQUEST_TIMEOUT)
        .unwrap_or_else(|error| panic!("{error:#}"));
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    let review: Value = serde_json::from_slice(&response.body).expect("an AdmissionReview");
    parse_response_line(&review["response"].to_string()).unwrap_or_else(|error| panic!("{error:#}"))
}

fn defaulted(answer: &Answer) -> Value {
    let patch = answer.patch.as_ref().expect("a patch");
    assert_eq!(patch.len(), 1, "{patch:?}");
    patch[0]["value"].clone()
}

#[test]
fn policy_server_reads_each_namespace_once_for_many_requests() {
    let (policy_server, kwctl) = match shared_binaries() {
        Ok(binaries) => binaries,
        Err(reason) => {
            println!("skipped: {reason} (Kubewarden's binaries are not beside the repository)");
            return;
        }
    };
    let scratch = Scratch::new("namespaces");
    let module = annotated_policy(&kwctl, &scratch).unwrap_or_else(|error| panic!("{error:#}"));
    let api = FakeApi::start(vec![
        namespace(
            "shop",
            json!({"kubernetes.io/metadata.name": "shop", "pod-security.kubernetes.io/enforce": "restricted"}),
        ),
        namespace(
            "legacy",
            json!({"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted"}),
        ),
    ])
    .expect("a fake API server");
    let kubeconfig = api.kubeconfig(&scratch.0).expect("a kubeconfig");
    let settings = json!({"namespace_labels": true});
    let policies = [
        ServedPolicy {
            id: PER_NAMESPACE.into(),
            module: module.clone(),
            settings: settings.clone(),
            allowed_to_mutate: true,
            reads_namespaces: true,
        },
        ServedPolicy {
            id: NOT_GRANTED.into(),
            module,
            settings,
            allowed_to_mutate: true,
            reads_namespaces: false,
        },
    ];
    let server =
        PolicyServer::start_with_cluster(&policy_server, &policies, &scratch.0, Some(&kubeconfig))
            .unwrap_or_else(|error| panic!("{error:#}"));

    // restricted: enabled defaults, nothing to warn.
    let shop = answer(&server, PER_NAMESPACE, &bare_pod("shop", "web"));
    assert!(shop.allowed, "{shop:?}");
    assert_eq!(
        defaulted(&shop),
        json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
               "runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}})
    );
    assert_eq!(
        shop.warnings,
        [
            "spec.containers[0] \"web\": defaulted allowPrivilegeEscalation, seccompProfile, capabilities, runAsNonRoot"
        ]
    );

    // baseline, warn restricted: root-allowed defaults and the warning.
    let legacy = answer(&server, PER_NAMESPACE, &bare_pod("legacy", "web"));
    assert!(legacy.allowed, "{legacy:?}");
    assert_eq!(defaulted(&legacy).get("runAsNonRoot"), None);
    assert_eq!(
        legacy.warnings.last().map(String::as_str),
        Some(
            "would violate PodSecurity \"restricted:latest\": spec.containers[0] \"web\": \
             securityContext.runAsNonRoot must be true, here or in the pod's securityContext (is unset)"
        )
    );

    // Not found, as the host says it: the settings (root-allowed).
    let missing = answer(&server, PER_NAMESPACE, &bare_pod("team-new", "web"));
    assert!(missing.allowed, "{missing:?}");
    assert_eq!(defaulted(&missing).get("runAsNonRoot"), None);
    assert_eq!(
        missing.warnings[0],
        "namespace \"team-new\" could not be read, so the policy's settings apply: \
         Cannot find v1/Namespace named 'team-new' inside of namespace 'None'"
    );

    let not_granted = answer(&server, NOT_GRANTED, &bare_pod("shop", "web"));
    assert!(not_granted.allowed, "{not_granted:?}");
    assert_eq!(
        not_granted.warnings[0],
        "namespace \"shop\" could not be read, so the policy's settings apply: the policy may \
         not read Namespaces: its contextAwareResources must list {apiVersion: v1, kind: Namespace}"
    );

    // A burst in one namespace is one read for the API server: the host
    // caches a lookup for a few seconds.
    let reads_before = api.reads();
    for index in 0..20 {
        let pod = answer(
            &server,
            PER_NAMESPACE,
            &bare_pod("shop", &format!("web-{index}")),
        );
        assert_eq!(defaulted(&pod)["runAsNonRoot"], json!(true));
    }
    let burst_reads = api.reads() - reads_before;
    assert!(
        burst_reads <= 1,
        "{burst_reads} reads of the API server for 20 Pods"
    );
}
