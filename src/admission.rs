//! One admission request, start to end: read it, find the pod spec, decide
//! what may be defaulted, default it, answer.

use crate::carriers::{self, Carrier};
use crate::defaults::{self, PodFacts};
use crate::insecure;
use crate::json::{self, Splicer};
use crate::podspec::{self, ContainerList, PodSpecView, PodTemplateView};
use crate::request::{self, Request};
use crate::response::{self, Report, Response};
use crate::settings::Settings;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// What a request allows the policy to default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    /// A new object, or a workload whose pod template changes: every
    /// container and the pod level.
    Everything,
    /// `pods/ephemeralcontainers`: the ephemeral containers it adds, and
    /// nothing else (the rest of the pod spec is immutable).
    NewEphemeralContainers,
}

/// The answer to one waPC `validate` payload.
pub fn evaluate(payload: &[u8]) -> Response {
    let payload = match request::parse(payload) {
        Ok(payload) => payload,
        Err(message) => return Response::reject(message),
    };
    let settings = match payload.settings {
        None => Settings::default(),
        Some(raw) => match Settings::from_json(raw.get().as_bytes()) {
            Ok(settings) => settings,
            Err(message) => {
                return Response::reject(format!("the policy settings are not valid: {message}"));
            }
        },
    };
    admit(&settings, &payload.request)
}

/// Decides, for one request, whether and what to default.
pub fn admit(settings: &Settings, request: &Request) -> Response {
    let Some(carrier) = carriers::carrier(&request.kind.group, &request.kind.kind) else {
        return Response::accept();
    };
    let Some(object) = request.object.filter(|object| !json::is_null(object)) else {
        return Response::accept();
    };
    if request.operation == "CREATE" && made_from_a_defaulted_template(carrier, object) {
        return Response::accept();
    }
    let scope = match (request.operation.as_ref(), request.sub_resource.as_ref()) {
        ("CREATE", "") => Scope::Everything,
        ("UPDATE", "ephemeralcontainers") if carrier.kind == "Pod" => Scope::NewEphemeralContainers,
        ("UPDATE", "") if !carrier.immutable => {
            match template_changed(carrier, object, request.old_object) {
                Ok(true) => Scope::Everything,
                // A scale, a label or a status change: defaulting now would
                // start a rollout nobody asked for.
                Ok(false) => return Response::accept(),
                Err(message) => return Response::reject(message),
            }
        }
        // DELETE, CONNECT, other subresources, and UPDATEs of pods and
        // Revisions, whose pod spec can no longer change.
        _ => return Response::accept(),
    };
    let new_ephemeral_names = match scope {
        Scope::Everything => None,
        Scope::NewEphemeralContainers => match ephemeral_names(carrier, request.old_object) {
            Ok(names) => Some(names),
            Err(message) => return Response::reject(message),
        },
    };
    match default_object(carrier, settings, object, new_ephemeral_names.as_deref()) {
        Ok((mutated_object, reports)) => Response {
            accepted: true,
            mutated_object,
            warnings: response::warnings(&reports),
            ..Response::default()
        },
        Err(message) => Response::reject(message),
    }
}

/// A ReplicaSet made by a Deployment, a Job made by a CronJob, a Revision
/// made by a Configuration: its owner's template, which this policy
/// defaulted, is the source of truth. Changing the copy would make the
/// owner's controller see a template that differs from its own and create
/// another copy, again and again; the Pods it creates are defaulted instead.
fn made_from_a_defaulted_template(carrier: &Carrier, object: &RawValue) -> bool {
    #[derive(serde::Deserialize)]
    struct OwnerReference<'a> {
        #[serde(borrow, default)]
        kind: std::borrow::Cow<'a, str>,
        #[serde(rename = "apiVersion", borrow, default)]
        api_version: std::borrow::Cow<'a, str>,
        #[serde(default)]
        controller: Option<bool>,
    }
    if carrier.kind == "Pod" {
        return false;
    }
    let owners = json::find::<Vec<OwnerReference>>(object.get(), &["metadata", "ownerReferences"])
        .ok()
        .flatten()
        .unwrap_or_default();
    owners.iter().any(|owner| {
        let group = owner
            .api_version
            .rsplit_once('/')
            .map_or("", |(group, _)| group);
        owner.controller == Some(true) && carriers::carrier(group, &owner.kind).is_some()
    })
}

/// Whether an UPDATE changes the pod template (its metadata or spec).
fn template_changed(
    carrier: &Carrier,
    object: &RawValue,
    old_object: Option<&RawValue>,
) -> Result<bool, String> {
    let Some(old_object) = old_object else {
        return Ok(true);
    };
    let template = |raw: &RawValue, which: &str| -> Result<Option<Value>, String> {
        json::find::<Value>(raw.get(), carrier.template_path)
            .map_err(|error| format!("{which} cannot be read: {}", podspec::error_text(&error)))
    };
    Ok(template(object, "the object")? != template(old_object, "the old object")?)
}

/// The names of the ephemeral containers the pod had before this request.
fn ephemeral_names(
    carrier: &Carrier,
    old_object: Option<&RawValue>,
) -> Result<Vec<String>, String> {
    let Some(old_object) = old_object else {
        return Ok(Vec::new());
    };
    let template = read_template(carrier, old_object)?;
    let Some(spec) = template.spec else {
        return Ok(Vec::new());
    };
    let mut names = Vec::new();
    for raw in spec.list(ContainerList::EphemeralContainers) {
        if let Ok(container) = podspec::container(raw) {
            names.push(container.name().to_string());
        }
    }
    Ok(names)
}

fn read_template<'a>(
    carrier: &Carrier,
    object: &'a RawValue,
) -> Result<PodTemplateView<'a>, String> {
    json::find::<PodTemplateView>(object.get(), carrier.template_path)
        .map(Option::unwrap_or_default)
        .map_err(|error| {
            format!(
                "{} cannot be read: {}",
                carrier.pod_spec_path(),
                podspec::error_text(&error)
            )
        })
}

/// Defaults the pod spec of `object` and returns the mutated object (when
/// anything changed) with a report per securityContext touched or found
/// insecure. With `only_ephemeral`, only ephemeral containers whose names
/// are not in that list are defaulted.
fn default_object(
    carrier: &Carrier,
    settings: &Settings,
    object: &RawValue,
    only_ephemeral: Option<&[String]>,
) -> Result<(Option<String>, Vec<Report>), String> {
    let base = object.get();
    let template = read_template(carrier, object)?;
    let Some(spec) = template.spec else {
        return Ok((None, Vec::new()));
    };
    let spec_path = carrier.pod_spec_path();
    let mut pod_security_context = podspec::security_context(spec.security_context)
        .map_err(|message| format!("{spec_path}.securityContext: {message}"))?;
    let windows = spec.is_windows();
    let mut splicer = Splicer::default();
    let mut reports = Vec::new();

    let pod_level_writable = only_ephemeral.is_none() && !carrier.knative && !windows;
    if pod_level_writable
        && let Some(report) = default_pod_identity(
            carrier,
            settings,
            object,
            &spec,
            &mut pod_security_context,
            &mut splicer,
        )?
    {
        reports.push(report);
    }

    let pod = PodFacts {
        security_context: pod_security_context.as_ref(),
        windows,
        identity_on_containers: carrier.knative,
    };
    for list in ContainerList::ALL {
        for (index, raw) in spec.list(list).iter().enumerate() {
            let path = format!("{spec_path}.{}[{index}]", list.field());
            let container =
                podspec::container(raw).map_err(|message| format!("{path}: {message}"))?;
            if let Some(existing) = only_ephemeral {
                let is_new = list == ContainerList::EphemeralContainers
                    && !existing.iter().any(|name| name == container.name());
                if !is_new {
                    continue;
                }
            }
            let original = podspec::security_context(container.security_context)
                .map_err(|message| format!("{path}.{message}"))?;
            let mut security_context = original.clone().unwrap_or_default();
            let defaulted = defaults::default_container(
                settings,
                &pod,
                container.container_ports(),
                &mut security_context,
            );
            let insecure = insecure::container_findings(
                settings.secure_pod_defaults,
                pod.security_context,
                windows,
                Some(&security_context),
            );
            if !defaulted.is_empty() {
                write_security_context(
                    &mut splicer,
                    base,
                    raw,
                    container.security_context,
                    &security_context,
                );
            }
            if !defaulted.is_empty() || !insecure.is_empty() {
                reports.push(Report {
                    path,
                    container: Some(container.name().to_string()),
                    defaulted,
                    insecure,
                });
            }
        }
    }

    let mutated_object = (!splicer.is_empty()).then(|| splicer.apply(base));
    Ok((mutated_object, reports))
}

/// The optional `run_as_user` / `run_as_group`, written on the pod-level
/// securityContext where it does not set them.
fn default_pod_identity(
    carrier: &Carrier,
    settings: &Settings,
    object: &RawValue,
    spec: &PodSpecView,
    pod_security_context: &mut Option<Map<String, Value>>,
    splicer: &mut Splicer,
) -> Result<Option<Report>, String> {
    if settings.run_as_user.is_none() && settings.run_as_group.is_none() {
        return Ok(None);
    }
    let mut security_context = pod_security_context.clone().unwrap_or_default();
    let defaulted = defaults::identity(settings, None, &mut security_context);
    if defaulted.is_empty() {
        return Ok(None);
    }
    let text = serde_json::to_string(&security_context).unwrap_or_default();
    match spec.security_context {
        Some(raw) => splicer.replace(object.get(), raw, text),
        None => {
            // Only this rare edit needs the pod spec's own position.
            let spec_path: Vec<&str> = carrier
                .template_path
                .iter()
                .copied()
                .chain(["spec"])
                .collect();
            let spec_raw = json::find::<&RawValue>(object.get(), &spec_path)
                .ok()
                .flatten()
                .ok_or_else(|| format!("{} cannot be read", carrier.pod_spec_path()))?;
            splicer.add_field(object.get(), spec_raw, "securityContext", text);
        }
    }
    *pod_security_context = Some(security_context);
    Ok(Some(Report {
        path: format!("{}.securityContext", carrier.pod_spec_path()),
        container: None,
        defaulted,
        insecure: Vec::new(),
    }))
}

/// Replaces the container's securityContext, or adds one when it has none.
fn write_security_context(
    splicer: &mut Splicer,
    base: &str,
    container: &RawValue,
    existing: Option<&RawValue>,
    security_context: &Map<String, Value>,
) {
    let text = serde_json::to_string(security_context).unwrap_or_default();
    match existing {
        Some(raw) => splicer.replace(base, raw, text),
        None => splicer.add_field(base, container, "securityContext", text),
    }
}
