//! Invariants of defaulting, over generated Pods and workloads with arbitrary
//! partial securityContexts, at every level, through the same entry point the
//! wasm's `validate` uses (`admission::evaluate`).

use proptest::prelude::*;
use secure_pod_defaults::admission;
use serde_json::{Map, Value, json};

/// A value for a securityContext field: unset, null, secure, insecure, or of
/// the wrong type.
fn maybe(choices: Vec<Value>) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        3 => Just(None),
        1 => Just(Some(Value::Null)),
        4 => proptest::sample::select(choices).prop_map(Some),
    ]
}

fn capability_list() -> impl Strategy<Value = Value> {
    proptest::collection::vec(
        proptest::sample::select(vec![
            "ALL",
            "all",
            "NET_BIND_SERVICE",
            "CAP_SYS_ADMIN",
            "SYS_ADMIN",
            "NET_RAW",
            "CAP_CHOWN",
        ]),
        0..3,
    )
    .prop_map(|names| json!(names))
}

fn capabilities() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        3 => Just(None),
        1 => Just(Some(Value::Null)),
        1 => Just(Some(json!({}))),
        3 => (proptest::option::of(capability_list()), proptest::option::of(capability_list()))
            .prop_map(|(add, drop)| {
                let mut map = Map::new();
                if let Some(add) = add { map.insert("add".into(), add); }
                if let Some(drop) = drop { map.insert("drop".into(), drop); }
                Some(Value::Object(map))
            }),
    ]
}

fn seccomp_profile() -> impl Strategy<Value = Option<Value>> {
    maybe(vec![
        json!({}),
        json!({"type": ""}),
        json!({"type": "RuntimeDefault"}),
        json!({"type": "Unconfined"}),
        json!({"type": "Localhost", "localhostProfile": "profiles/app.json"}),
        json!({"type": null, "futureKey": 1}),
    ])
}

fn container_security_context() -> impl Strategy<Value = Option<Value>> {
    let fields = (
        maybe(vec![json!(true), json!(false), json!("yes")]),
        maybe(vec![json!(true), json!(false)]),
        capabilities(),
        seccomp_profile(),
        maybe(vec![json!(true), json!(false)]),
        maybe(vec![json!(0), json!(1000), json!(65534)]),
        maybe(vec![json!(true), json!(false)]),
        maybe(vec![json!("keep me"), json!({"nested": [1, 2]})]),
    );
    prop_oneof![
        2 => Just(None),
        1 => Just(Some(Value::Null)),
        6 => fields.prop_map(|(ape, privileged, caps, seccomp, non_root, user, ro, unknown)| {
            let mut map = Map::new();
            for (key, value) in [
                ("allowPrivilegeEscalation", ape),
                ("privileged", privileged),
                ("capabilities", caps),
                ("seccompProfile", seccomp),
                ("runAsNonRoot", non_root),
                ("runAsUser", user),
                ("readOnlyRootFilesystem", ro),
                ("futureSecurityField", unknown),
            ] {
                if let Some(value) = value {
                    map.insert(key.into(), value);
                }
            }
            Some(Value::Object(map))
        }),
    ]
}

fn container(name: String) -> impl Strategy<Value = Value> {
    (
        container_security_context(),
        proptest::option::of(proptest::collection::vec(
            proptest::option::of(prop_oneof![
                Just(0i64),
                Just(80),
                Just(1023),
                Just(1024),
                Just(8080)
            ]),
            0..3,
        )),
        any::<bool>(),
    )
        .prop_map(move |(security_context, ports, unknown)| {
            let mut map = Map::new();
            map.insert("name".into(), json!(name));
            map.insert("image".into(), json!("registry.example.com/app:1.0"));
            if let Some(security_context) = security_context {
                map.insert("securityContext".into(), security_context);
            }
            if let Some(ports) = ports {
                let ports: Vec<Value> = ports
                    .into_iter()
                    .map(|port| match port {
                        Some(port) => json!({"containerPort": port}),
                        None => json!({"name": "metrics"}),
                    })
                    .collect();
                map.insert("ports".into(), Value::Array(ports));
            }
            if unknown {
                map.insert("futureContainerField".into(), json!({"x": [true]}));
            }
            Value::Object(map)
        })
}

fn containers(
    prefix: &'static str,
    count: std::ops::Range<usize>,
) -> impl Strategy<Value = Vec<Value>> {
    count.prop_flat_map(move |count| {
        (0..count)
            .map(|index| container(format!("{prefix}-{index}")))
            .collect::<Vec<_>>()
    })
}

fn pod_spec() -> impl Strategy<Value = Value> {
    let pod_security_context = maybe(vec![
        json!({}),
        json!({"runAsNonRoot": true}),
        json!({"runAsNonRoot": false, "runAsUser": 0}),
        json!({"seccompProfile": {"type": "Unconfined"}}),
        json!({"seccompProfile": {"type": ""}, "fsGroup": 2000}),
        json!({"runAsUser": 1000, "runAsGroup": 1000}),
        json!({"sysctls": [{"name": "kernel.shm_rmid_forced", "value": "1"}]}),
        json!({"sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "1000"}]}),
    ]);
    (
        containers("app", 1..4),
        containers("init", 0..3),
        containers("debug", 0..2),
        pod_security_context,
        prop_oneof![4 => Just(None), 1 => Just(Some("windows")), 1 => Just(Some("linux"))],
        any::<bool>(),
    )
        .prop_map(
            |(containers, init, ephemeral, security_context, os, unknown)| {
                let mut spec = Map::new();
                spec.insert("containers".into(), Value::Array(containers));
                if !init.is_empty() {
                    spec.insert("initContainers".into(), Value::Array(init));
                }
                if !ephemeral.is_empty() {
                    spec.insert("ephemeralContainers".into(), Value::Array(ephemeral));
                }
                if let Some(security_context) = security_context {
                    spec.insert("securityContext".into(), security_context);
                }
                if let Some(os) = os {
                    spec.insert("os".into(), json!({"name": os}));
                }
                if unknown {
                    spec.insert("someFutureSpecField".into(), json!({"enabled": true}));
                }
                Value::Object(spec)
            },
        )
}

/// (group, version, kind, the object) for one carrier around `spec`.
fn wrap(kind: &str, spec: Value) -> (String, String, Value) {
    let template = json!({"metadata": {"labels": {"app": "x"}}, "spec": spec});
    let (api_version, body) = match kind {
        "Pod" => ("v1", json!({"spec": spec})),
        "PodTemplate" => ("v1", json!({"template": template})),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => (
            "apps/v1",
            json!({"spec": {"replicas": 1, "template": template}}),
        ),
        "Job" => ("batch/v1", json!({"spec": {"template": template}})),
        "CronJob" => (
            "batch/v1",
            json!({"spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": template}}}}),
        ),
        "Service" => (
            "serving.knative.dev/v1",
            json!({"spec": {"template": template}}),
        ),
        _ => ("serving.knative.dev/v1", json!({"spec": spec})),
    };
    let mut object = body.as_object().unwrap().clone();
    object.insert("apiVersion".into(), json!(api_version));
    object.insert("kind".into(), json!(kind));
    object.insert(
        "metadata".into(),
        json!({"name": "x", "namespace": "ns", "annotations": {"a": "b"}}),
    );
    let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
    (
        group.to_string(),
        api_version.rsplit('/').next().unwrap().to_string(),
        Value::Object(object),
    )
}

fn workload() -> impl Strategy<Value = Value> {
    (
        proptest::sample::select(vec![
            "Pod",
            "PodTemplate",
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "ReplicaSet",
            "Job",
            "CronJob",
            "Service",
            "Revision",
        ]),
        pod_spec(),
    )
        .prop_map(|(kind, spec)| wrap(kind, spec).2)
}

fn settings() -> impl Strategy<Value = Value> {
    (
        proptest::sample::select(vec!["disabled", "root-allowed", "enabled"]),
        proptest::option::of(prop_oneof![Just(1000i64), Just(65534)]),
        proptest::option::of(prop_oneof![Just(1000i64), Just(65534)]),
        any::<bool>(),
        proptest::sample::select(vec!["privileged", "baseline", "restricted"]),
        proptest::sample::select(vec!["latest", "v1.24", "v1.35"]),
        any::<bool>(),
        // Images are not read here (the native build has no host): every
        // lookup fails and falls back.
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(level, user, group, read_only, pod_security, version, strict, from_image, sysctl)| {
            let mut settings = json!({"secure_pod_defaults": level, "read_only_root_filesystem": read_only,
                "pod_security": pod_security, "pod_security_version": version, "strict_capabilities": strict,
                "run_as_non_root_from_image": from_image, "unprivileged_port_sysctl": sysctl});
            if let Some(user) = user {
                settings["run_as_user"] = json!(user);
            }
            if let Some(group) = group {
                settings["run_as_group"] = json!(group);
            }
            settings
        })
}

fn request_for(object: &Value) -> Value {
    let api_version = object["apiVersion"].as_str().unwrap();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    json!({
        "uid": "00000000-0000-4000-8000-000000000000",
        "kind": {"group": group, "version": version, "kind": object["kind"]},
        "operation": "CREATE",
        "namespace": "ns",
        "userInfo": {"username": "someone"},
        "object": object,
    })
}

/// The value of the one sysctl the policy writes, when `sysctls` is a list
/// of that sysctl alone.
fn unprivileged_port_start(sysctls: &Value) -> Option<i64> {
    match sysctls.as_array()?.as_slice() {
        [sysctl] if sysctl["name"] == "net.ipv4.ip_unprivileged_port_start" => {
            sysctl["value"].as_str()?.parse().ok()
        }
        _ => None,
    }
}

/// Runs the policy: (response, mutated object if any).
fn run(settings: &Value, object: &Value) -> (Value, Option<Value>) {
    let payload = json!({"settings": settings, "request": request_for(object)});
    let answer = admission::evaluate(payload.to_string().as_bytes()).to_json();
    let response: Value = serde_json::from_slice(&answer).expect("the answer is JSON");
    let mutated = response
        .get("mutated_object")
        .filter(|value| !value.is_null())
        .cloned();
    (response, mutated)
}

/// The object with every securityContext (pod and container level) removed.
fn without_security_contexts(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, _)| key.as_str() != "securityContext")
                .map(|(key, value)| (key.clone(), without_security_contexts(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_security_contexts).collect()),
        other => other.clone(),
    }
}

/// Every securityContext in an object, by its JSON pointer.
fn security_contexts(value: &Value, pointer: String, found: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let child_pointer = format!("{pointer}/{key}");
                if key == "securityContext" {
                    found.push((child_pointer, child.clone()));
                } else {
                    security_contexts(child, child_pointer, found);
                }
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                security_contexts(child, format!("{pointer}/{index}"), found);
            }
        }
        _ => {}
    }
}

/// Every leaf that was set (not null) before is unchanged after.
fn keeps_set_values(before: &Value, after: &Value, path: &str) -> Result<(), String> {
    match (before, after) {
        (Value::Null, _) => Ok(()),
        // Knative treats an empty seccomp type as unset.
        (Value::String(text), _) if text.is_empty() && path.ends_with("/seccompProfile/type") => {
            Ok(())
        }
        // The unprivileged port sysctl is added after the pod's own.
        (Value::Array(before), Value::Array(after))
            if path.ends_with("/sysctls") && after.starts_with(before) =>
        {
            Ok(())
        }
        (Value::Object(before), Value::Object(after)) => {
            for (key, value) in before {
                let after_value = after.get(key).unwrap_or(&Value::Null);
                keeps_set_values(value, after_value, &format!("{path}/{key}"))?;
            }
            Ok(())
        }
        (before, after) if before == after => Ok(()),
        (before, after) => Err(format!("{path} changed from {before} to {after}")),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_request_gets_an_answer_and_defaulting_is_idempotent(settings in settings(), object in workload()) {
        let (response, mutated) = run(&settings, &object);
        prop_assert!(response["accepted"].is_boolean());
        if let Some(mutated) = mutated {
            // The output passed the checks: run again, it passes unchanged.
            let (again, mutated_again) = run(&settings, &mutated);
            prop_assert_eq!(&again["accepted"], &json!(true), "{}", again["message"]);
            prop_assert!(mutated_again.is_none(), "defaulting the output again changed it: {}", mutated_again.unwrap());
        }
    }

    #[test]
    fn validate_only_accepts_exactly_what_needs_no_mutation(settings in settings(), object in workload()) {
        let (response, mutated) = run(&settings, &object);
        let mutating_accepts_unchanged = response["accepted"] == json!(true) && mutated.is_none();
        let mut validate_only = settings.clone();
        validate_only["validate_only"] = json!(true);
        let (checked, never_mutated) = run(&validate_only, &object);
        prop_assert!(never_mutated.is_none(), "validate_only mutated the object");
        prop_assert_eq!(checked["accepted"] == json!(true), mutating_accepts_unchanged,
            "validate_only answered {} where the mutating mode answered {} (mutated: {})",
            checked["message"], response["message"], response["mutated_object"].is_object());
    }

    #[test]
    fn only_security_contexts_change_and_set_values_are_kept(settings in settings(), object in workload()) {
        let (_, mutated) = run(&settings, &object);
        let Some(mutated) = mutated else { return Ok(()) };
        prop_assert_eq!(without_security_contexts(&object), without_security_contexts(&mutated));
        let mut before = Vec::new();
        security_contexts(&object, String::new(), &mut before);
        let mut after = Vec::new();
        security_contexts(&mutated, String::new(), &mut after);
        for (pointer, value) in &before {
            let after_value = mutated.pointer(pointer).unwrap_or(&Value::Null);
            if let Err(change) = keeps_set_values(value, after_value, pointer) {
                prop_assert!(false, "{}", change);
            }
        }
    }

    #[test]
    fn written_values_are_the_secure_ones(settings in settings(), object in workload()) {
        let (_, mutated) = run(&settings, &object);
        let Some(mutated) = mutated else { return Ok(()) };
        let mut after = Vec::new();
        security_contexts(&mutated, String::new(), &mut after);
        for (pointer, security_context) in after {
            let before = object.pointer(&pointer).cloned().unwrap_or(Value::Null);
            let Some(fields) = security_context.as_object() else { continue };
            for (key, value) in fields.iter().filter(|(_, value)| !value.is_null()) {
                let was_set = before.get(key).is_some_and(|old| !old.is_null());
                if was_set && key != "seccompProfile" {
                    continue;
                }
                let secure = match key.as_str() {
                    "allowPrivilegeEscalation" => value == &json!(false),
                    "runAsNonRoot" | "readOnlyRootFilesystem" => value == &json!(true),
                    "seccompProfile" => was_set || value == &json!({"type": "RuntimeDefault"}),
                    "capabilities" => value == &json!({"drop": ["ALL"]})
                        || value == &json!({"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}),
                    "runAsUser" => Some(value) == settings.get("run_as_user"),
                    "runAsGroup" => Some(value) == settings.get("run_as_group"),
                    "sysctls" => unprivileged_port_start(value).is_some_and(|port| (1..1024).contains(&port)),
                    _ => false,
                };
                prop_assert!(secure, "{}/{} was written as {}", pointer, key, value);
            }
        }
    }

    #[test]
    fn windows_pods_get_no_linux_only_field(settings in settings(), spec in pod_spec()) {
        let mut spec = spec;
        spec["os"] = json!({"name": "windows"});
        let (_, _, object) = wrap("Pod", spec);
        let (_, mutated) = run(&settings, &object);
        let Some(mutated) = mutated else { return Ok(()) };
        let mut before = Vec::new();
        security_contexts(&object, String::new(), &mut before);
        let mut after = Vec::new();
        security_contexts(&mutated, String::new(), &mut after);
        for (pointer, security_context) in after {
            let old = before.iter().find(|(p, _)| *p == pointer).map(|(_, v)| v.clone()).unwrap_or(Value::Null);
            let written = security_context.as_object().into_iter().flatten();
            for (key, _) in written.filter(|(_, value)| !value.is_null()) {
                let was_set = old.get(key).is_some_and(|value| !value.is_null());
                prop_assert!(was_set || key == "runAsNonRoot", "{}/{} written on a Windows pod", pointer, key);
            }
        }
    }
}
