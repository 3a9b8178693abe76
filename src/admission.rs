//! One admission request, start to end: read it, find the pod spec, decide
//! what may be defaulted, default it, check the result, answer.

use crate::carriers::{self, Carrier};
use crate::checks::{self, PssLevel};
use crate::defaults::{self, Defaulted, PodFacts};
use crate::insecure;
use crate::json::Splicer;
use crate::podspec::{self, ContainerList, PodTemplate, TemplateError};
use crate::request::{self, Request};
use crate::response::{self, Report, Response};
use crate::scan::{self, Scanner};
use crate::settings::Settings;
use crate::value::{Map, Value};
use crate::violation::{self, Violation};
use std::borrow::Cow;
use std::fmt::Write;

/// Deepest object the policy returns mutated: the host parses the answer
/// with a limit of 128 levels, and the answer wraps the object.
const MAX_OBJECT_DEPTH: usize = 100;

/// Which containers a request allows the policy to default.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Scope {
    /// A new object, or a workload whose pod template changes: every
    /// container and the pod level.
    Everything,
    /// `pods/ephemeralcontainers`: the ephemeral containers it adds (those
    /// not named here), and nothing else; the rest of the pod is immutable.
    EphemeralContainersNotIn(Vec<String>),
}

/// What the policy does with one request.
struct Plan {
    scope: Scope,
    /// The object may be changed (CREATE, a template change, new ephemeral
    /// containers); otherwise it is only checked.
    may_mutate: bool,
    /// A new object made by a controller from its own template is only
    /// checked (see [`made_from_a_defaulted_template`]).
    unless_made_by_a_controller: bool,
}

/// The answer to one waPC `validate` payload.
pub fn evaluate(payload_bytes: &[u8]) -> Response {
    // A new object is read with its pod template in one pass. A template
    // that cannot be read is read again below, on its own, to be told why.
    let template_path: request::TemplatePath =
        |group, kind| carriers::carrier(group, kind).map(|carrier| carrier.template_path);
    let (payload, template) = match request::read(payload_bytes, Some(template_path)) {
        Ok(read) => read,
        Err(message) => return Response::reject(message),
    };
    let settings_text = payload.settings.unwrap_or("{}");
    LAST_SETTINGS.with(|cache| {
        let mut cache = cache.borrow_mut();
        let cached = cache.as_ref().filter(|(text, _)| text == settings_text);
        if cached.is_none() {
            match Settings::from_json(settings_text.as_bytes()) {
                Ok(settings) => *cache = Some((settings_text.to_string(), settings)),
                Err(message) => {
                    return Response::reject(format!(
                        "the policy settings are not valid: {message}"
                    ));
                }
            }
        }
        let (_, settings) = cache.as_ref().expect("just filled");
        admit(settings, &payload.request, template)
    })
}

thread_local! {
    /// The settings of the previous request: a policy instance always gets
    /// the same settings, so they are read once, not per request.
    static LAST_SETTINGS: std::cell::RefCell<Option<(String, Settings)>> =
        const { std::cell::RefCell::new(None) };
}

/// Decides, for one request, what to default and what to check, and does
/// it. `template` is the object's pod template when it was read with the
/// request.
fn admit(settings: &Settings, request: &Request, template: Option<PodTemplate>) -> Response {
    let Some(carrier) = carriers::carrier(&request.kind.group, &request.kind.kind) else {
        return Response::accept();
    };
    let exemptions = &settings.exemptions;
    if exemptions
        .namespaces
        .iter()
        .any(|ns| *ns == request.namespace)
        || exemptions
            .usernames
            .iter()
            .any(|user| *user == request.user_info.username)
    {
        return Response::accept();
    }
    let Some(object) = request.object else {
        return Response::accept();
    };
    let plan = match plan(carrier, request) {
        Ok(Some(plan)) => plan,
        Ok(None) => return Response::accept(),
        Err(message) => return Response::reject(message),
    };
    let template = match template {
        Some(template) => Ok(template),
        None => read_template(carrier, object),
    };
    match template
        .and_then(|template| default_and_check(carrier, settings, object, template, &plan))
    {
        Ok(response) => response,
        Err(message) => Response::reject(message),
    }
}

/// What a request allows: `None` when it is accepted untouched.
fn plan(carrier: &Carrier, request: &Request) -> Result<Option<Plan>, String> {
    let plan = match (request.operation.as_ref(), request.sub_resource.as_ref()) {
        ("CREATE", "") => Plan {
            scope: Scope::Everything,
            may_mutate: true,
            unless_made_by_a_controller: carrier.kind != "Pod",
        },
        ("UPDATE", "ephemeralcontainers") if carrier.kind == "Pod" => Plan {
            scope: Scope::EphemeralContainersNotIn(ephemeral_names(carrier, request.old_object)?),
            may_mutate: true,
            unless_made_by_a_controller: false,
        },
        ("UPDATE", "") => {
            let object = request.object.ok_or("the object cannot be read")?;
            let Some(old_object) = request.old_object else {
                return Ok(Some(Plan {
                    scope: Scope::Everything,
                    may_mutate: !carrier.immutable,
                    unless_made_by_a_controller: false,
                }));
            };
            let template = whole_template(carrier, object, "the object")?;
            let old_template = whole_template(carrier, old_object, "the old object")?;
            if carrier.immutable {
                // A pod's spec can barely change; as Pod Security Admission
                // does, only an update that changes what runs is checked.
                if !significant_pod_update(&template, &old_template) {
                    return Ok(None);
                }
                Plan {
                    scope: Scope::Everything,
                    may_mutate: false,
                    unless_made_by_a_controller: false,
                }
            } else {
                // A scale, a label or a status change: defaulting now would
                // start a rollout nobody asked for, and the template was
                // already admitted.
                if template == old_template {
                    return Ok(None);
                }
                Plan {
                    scope: Scope::Everything,
                    may_mutate: true,
                    unless_made_by_a_controller: false,
                }
            }
        }
        // DELETE, CONNECT and other subresources.
        _ => return Ok(None),
    };
    Ok(Some(plan))
}

/// A ReplicaSet made by a Deployment, a Job made by a CronJob, a Revision
/// made by a Configuration: its owner's template, which this policy
/// defaulted, is the source of truth. Changing the copy would make the
/// owner's controller see a template that differs from its own and create
/// another copy, again and again; the Pods it creates are defaulted instead.
fn made_from_a_defaulted_template(template: &PodTemplate) -> bool {
    let owners = template.owner_references.as_ref().and_then(Value::as_array);
    owners.map_or(&[][..], Vec::as_slice).iter().any(|owner| {
        let text = |key| owner.get(key).and_then(Value::as_str).unwrap_or("");
        let group = text("apiVersion")
            .rsplit_once('/')
            .map_or("", |(group, _)| group);
        owner.get("controller") == Some(&Value::Bool(true))
            && carriers::carrier(group, text("kind")).is_some()
    })
}

/// The whole pod template of the object `text` (`null` when the object has
/// none); `which` names what could not be read in the message.
fn whole_template<'a>(carrier: &Carrier, text: &'a str, which: &str) -> Result<Value<'a>, String> {
    let template = scan::find(text, carrier.template_path)
        .map_err(|reason| format!("{which} cannot be read: {reason}"))?;
    let Some(template) = template else {
        return Ok(Value::Null);
    };
    Scanner::new(template)
        .value()
        .map_err(|_| format!("{which} cannot be read"))
}

/// Pod Security Admission's test for a pod UPDATE worth checking: a
/// container added or removed, an image changed, an ephemeral container
/// added, or a seccomp annotation changed. Every other pod spec field is
/// immutable or irrelevant to the standards.
fn significant_pod_update(template: &Value, old_template: &Value) -> bool {
    const POD_SECCOMP_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
    const CONTAINER_SECCOMP_ANNOTATION: &str = "container.seccomp.security.alpha.kubernetes.io/";
    fn annotation<'t>(template: &'t Value<'t>, key: &str) -> Option<&'t Value<'t>> {
        template.at(&["metadata", "annotations", key])
    }
    fn containers<'t>(template: &'t Value<'t>, list: &str) -> &'t [Value<'t>] {
        template
            .get("spec")
            .and_then(|spec| spec.get(list))
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }
    let changed = |container: &Value, old_container: &Value| -> bool {
        let name = container.get("name").and_then(Value::as_str).unwrap_or("");
        let seccomp_key = format!("{CONTAINER_SECCOMP_ANNOTATION}{name}");
        container.get("image") != old_container.get("image")
            || annotation(template, &seccomp_key) != annotation(old_template, &seccomp_key)
    };
    if annotation(template, POD_SECCOMP_ANNOTATION)
        != annotation(old_template, POD_SECCOMP_ANNOTATION)
    {
        return true;
    }
    for list in ["containers", "initContainers"] {
        let (new, old) = (containers(template, list), containers(old_template, list));
        if new.len() != old.len() || new.iter().zip(old).any(|(n, o)| changed(n, o)) {
            return true;
        }
    }
    let old_ephemeral = containers(old_template, "ephemeralContainers");
    containers(template, "ephemeralContainers")
        .iter()
        .any(|container| {
            let old = old_ephemeral
                .iter()
                .find(|old| old.get("name") == container.get("name"));
            old.is_none_or(|old| changed(container, old))
        })
}

/// The names of the ephemeral containers the pod had before this request.
fn ephemeral_names(carrier: &Carrier, old_object: Option<&str>) -> Result<Vec<String>, String> {
    let Some(old_object) = old_object else {
        return Ok(Vec::new());
    };
    let template = read_template(carrier, old_object)?;
    let list = template
        .spec()
        .and_then(|spec| spec.get(ContainerList::EphemeralContainers.field()))
        .and_then(Value::as_array);
    let mut names = Vec::new();
    for container in list.map_or(&[][..], Vec::as_slice) {
        if let Some(name) = container.get("name").and_then(Value::as_str) {
            names.push(name.to_owned());
        }
    }
    Ok(names)
}

/// The pod template of `text` as the policy reads it (empty when the object
/// has none).
fn read_template<'a>(carrier: &Carrier, text: &'a str) -> Result<PodTemplate<'a>, String> {
    podspec::read_template(text, carrier.template_path, &carrier.pod_spec_path())
        .map(Option::unwrap_or_default)
        .map_err(|error| match error {
            TemplateError::TooDeep => too_deep(),
            TemplateError::Unreadable(message) => message,
        })
}

/// What defaulting did, or would do, to one object.
#[derive(Default)]
struct Defaulting {
    /// The object with the defaults written in, when anything changed.
    mutated_object: Option<String>,
    reports: Vec<Report>,
    /// Paths of containers whose image is exempt (`spec.containers[2]`).
    exempt_containers: Vec<String>,
}

fn default_and_check(
    carrier: &Carrier,
    settings: &Settings,
    object: &str,
    mut template: PodTemplate,
    plan: &Plan,
) -> Result<Response, String> {
    let Some(spec) = template.spec() else {
        return Ok(Response::accept());
    };
    let exempt_runtime_class = spec
        .get("runtimeClassName")
        .and_then(Value::as_str)
        .is_some_and(|class| {
            settings
                .exemptions
                .runtime_class_names
                .iter()
                .any(|exempt| exempt == class)
        });
    if exempt_runtime_class {
        return Ok(Response::accept());
    }
    // The checks read what will be admitted: the defaulted securityContexts
    // when the object is changed, the ones it has otherwise.
    let may_mutate = plan.may_mutate
        && !(plan.unless_made_by_a_controller && made_from_a_defaulted_template(&template));
    let mutates = may_mutate && !settings.validate_only;
    let defaulting = default_pod_spec(carrier, settings, object, &mut template, plan, mutates)?;
    let mutated_object = defaulting.mutated_object.filter(|_| mutates);

    let mut violations = check(carrier, settings, &template, &defaulting.exempt_containers);
    if settings.validate_only && may_mutate {
        would_default(&defaulting.reports, &mut violations);
        violation::sort_and_dedup(&mut violations);
    }
    if !violations.is_empty() {
        let rules = rules_name(settings);
        return Ok(Response {
            accepted: false,
            message: Some(violation::render_message(&rules, &violations)),
            audit_annotations: violation::audit_annotations(&violations)
                .into_iter()
                .collect(),
            ..Response::default()
        });
    }
    let warnings = if may_mutate {
        response::warnings(&defaulting.reports)
    } else {
        Vec::new()
    };
    Ok(Response {
        accepted: true,
        mutated_object,
        warnings,
        ..Response::default()
    })
}

/// A securityContext as an editable map: `None` when unset or `null`.
fn security_context_of<'a>(fields: &Map<'a>, path: &str) -> Result<Option<Map<'a>>, String> {
    match fields.get("securityContext") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map.clone())),
        Some(other) => Err(format!(
            "{path}.securityContext must be an object, not {}",
            other.describe()
        )),
    }
}

/// Defaults the pod spec of `template` (read from `object`) within the
/// plan's scope and reports what it wrote and what stays insecure. With
/// `mutates`, the defaulted securityContexts replace the read ones in
/// `template`, for the checks.
fn default_pod_spec(
    carrier: &Carrier,
    settings: &Settings,
    object: &str,
    template: &mut PodTemplate,
    plan: &Plan,
    mutates: bool,
) -> Result<Defaulting, String> {
    let spec_path = carrier.pod_spec_path();
    let positions = std::mem::take(&mut template.positions);
    let nesting = template.nesting;
    let Some(spec) = template.spec_mut() else {
        return Ok(Defaulting::default());
    };
    let mut pod_security_context = security_context_of(spec, &spec_path)?;
    let windows = spec
        .get("os")
        .and_then(|os| os.get("name"))
        .and_then(Value::as_str)
        == Some("windows");
    let mut splicer = Splicer::default();
    let mut defaulting = Defaulting::default();

    let pod_level_writable = plan.scope == Scope::Everything && !carrier.knative && !windows;
    if pod_level_writable
        && let Some(report) = default_pod_identity(
            carrier,
            settings,
            object,
            positions.pod_security_context,
            &mut pod_security_context,
            &mut splicer,
        )?
    {
        defaulting.reports.push(report);
        if mutates && let Some(context) = &pod_security_context {
            spec.insert("securityContext", Value::Object(context.clone()));
        }
    }

    let pod = PodFacts {
        security_context: pod_security_context.as_ref(),
        windows,
        identity_on_containers: carrier.knative,
    };
    for list in ContainerList::ALL {
        let Some(Value::Array(containers)) = spec.get_mut(list.field()) else {
            continue;
        };
        for (index, fields) in containers.iter_mut().enumerate() {
            // Written out only for a report or a refusal.
            let path = || container_path(&spec_path, list, index);
            let Value::Object(fields) = fields else {
                return Err(format!(
                    "{}: must be an object, not {}",
                    path(),
                    fields.describe()
                ));
            };
            // Borrowed from the request, not from `fields`, which changes.
            let name = match fields.get("name") {
                Some(Value::String(name)) => name.clone(),
                _ => Cow::Borrowed(""),
            };
            let image = fields.get("image").and_then(Value::as_str).unwrap_or("");
            if settings.exemptions.image(image) {
                defaulting.exempt_containers.push(path());
                continue;
            }
            if let Scope::EphemeralContainersNotIn(existing) = &plan.scope {
                let is_new = list == ContainerList::EphemeralContainers
                    && !existing.iter().any(|existing| *existing == name);
                if !is_new {
                    continue;
                }
            }
            // Defaulted in place when the object changes (the checks then
            // read the result); on a copy otherwise.
            let mut taken = false;
            let mut security_context = match fields.get_mut("securityContext") {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(map)) if mutates => {
                    taken = true;
                    std::mem::take(map)
                }
                Some(Value::Object(map)) => map.clone(),
                Some(other) => {
                    return Err(format!(
                        "{}.securityContext must be an object, not {}",
                        path(),
                        other.describe()
                    ));
                }
            };
            let defaulted = defaults::default_container(
                settings,
                &pod,
                binds_low_port(fields),
                &mut security_context,
            );
            let insecure = insecure::container_findings(
                settings.secure_pod_defaults,
                pod.security_context,
                windows,
                Some(&security_context),
            );
            if !defaulted.is_empty() {
                let position = positions.container(list, index);
                let text = crate::value::object_text(&security_context);
                match (position.security_context, position.anchor) {
                    (Some(raw), _) => splicer.replace(raw, text),
                    (None, Some(anchor)) => {
                        splicer.add_field_after(anchor, "securityContext", text)
                    }
                    (None, None) => {
                        let container = container_raw(carrier, object, list, index)?;
                        splicer.add_field(container, "securityContext", text)
                    }
                }
            }
            if mutates && (taken || !defaulted.is_empty()) {
                fields.insert("securityContext", Value::Object(security_context));
            }
            if !defaulted.is_empty() || !insecure.is_empty() {
                defaulting.reports.push(Report {
                    path: path(),
                    container: Some(name.into_owned()),
                    defaulted,
                    insecure,
                });
            }
        }
    }

    if !splicer.is_empty() && nesting > MAX_OBJECT_DEPTH {
        return Err(too_deep());
    }
    if !splicer.is_empty() {
        let mutated = splicer.apply(object);
        defaulting.mutated_object =
            Some(mutated.ok_or("the defaults could not be written into the object")?);
    }
    Ok(defaulting)
}

fn too_deep() -> String {
    format!(
        "the object nests deeper than {MAX_OBJECT_DEPTH} levels, more than any Kubernetes \
         object does; it is refused rather than defaulted"
    )
}

/// `spec.containers[2]`.
fn container_path(spec_path: &str, list: ContainerList, index: usize) -> String {
    format!("{spec_path}.{}[{index}]", list.field())
}

/// Whether a container declares a port below 1024, a port entry without a
/// number counting as 0 (as Go decodes it).
fn binds_low_port(container: &Map) -> bool {
    let Some(ports) = container.get("ports").and_then(Value::as_array) else {
        return false;
    };
    ports.iter().any(|port| {
        let number = port.get("containerPort").and_then(Value::as_i64);
        number.unwrap_or(0) < 1024
    })
}

/// The raw text of one container, for the rare container with neither an
/// image nor a name to write a securityContext after.
fn container_raw<'a>(
    carrier: &Carrier,
    base: &'a str,
    list: ContainerList,
    index: usize,
) -> Result<&'a str, String> {
    in_pod_spec(carrier, base, &[list.field()])
        .and_then(|containers| scan::items(containers).ok())
        .and_then(|containers| containers.get(index).copied())
        .ok_or_else(|| {
            format!(
                "{}.{}[{index}] cannot be read",
                carrier.pod_spec_path(),
                list.field()
            )
        })
}

/// The text of the value at `field` (a path) of the pod spec in the object
/// `base`.
fn in_pod_spec<'a>(carrier: &Carrier, base: &'a str, field: &[&str]) -> Option<&'a str> {
    let mut path = Vec::with_capacity(carrier.template_path.len() + 1 + field.len());
    path.extend_from_slice(carrier.template_path);
    path.push("spec");
    path.extend_from_slice(field);
    scan::find(base, &path).ok().flatten()
}

/// The optional `run_as_user` / `run_as_group`, written on the pod-level
/// securityContext where it does not set them.
fn default_pod_identity(
    carrier: &Carrier,
    settings: &Settings,
    object: &str,
    raw_security_context: Option<&str>,
    pod_security_context: &mut Option<Map>,
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
    let text = crate::value::object_text(&security_context);
    match raw_security_context {
        Some(raw) => splicer.replace(raw, text),
        None => {
            // Only this rare edit needs the pod spec's own position.
            let spec_raw = in_pod_spec(carrier, object, &[])
                .ok_or_else(|| format!("{} cannot be read", carrier.pod_spec_path()))?;
            splicer.add_field(spec_raw, "securityContext", text);
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

/// Whether any check is configured.
fn checks_configured(settings: &Settings) -> bool {
    settings.pod_security != PssLevel::Privileged || identity_configured(settings)
}

/// Whether the fixed identity is checked.
fn identity_configured(settings: &Settings) -> bool {
    settings.run_as_user.is_some()
        || settings.run_as_group.is_some()
        || settings.strict_capabilities
}

/// Every violation of the configured checks in the (defaulted) pod
/// template, leaving out containers whose image is exempt.
fn check(
    carrier: &Carrier,
    settings: &Settings,
    template: &PodTemplate,
    exempt_containers: &[String],
) -> Vec<Violation> {
    if !checks_configured(settings) {
        return Vec::new();
    }
    let Some(spec) = template.spec() else {
        return Vec::new();
    };
    let spec_path = carrier.pod_spec_path();
    let mut violations = Vec::new();
    if settings.pod_security != PssLevel::Privileged {
        violations = checks::check_pod(
            settings.pod_security,
            settings.pod_security_version,
            template.metadata(),
            spec,
            &spec_path,
            &carrier.pod_metadata_path(),
        );
    }
    if identity_configured(settings) {
        violations.extend(checks::check_identity(
            settings.run_as_user,
            settings.run_as_group,
            settings.strict_capabilities,
            spec,
            &spec_path,
        ));
    }
    violations.retain(|violation| {
        violation
            .container_path()
            .is_none_or(|path| !exempt_containers.iter().any(|exempt| exempt == path))
    });
    violation::sort_and_dedup(&mut violations);
    violations
}

/// With `validate_only`, what defaulting would have written, as violations
/// added to `violations`, except where a check already reported the field.
fn would_default(reports: &[Report], violations: &mut Vec<Violation>) {
    let control = "secure-pod-defaults";
    let reported = violations.len();
    for report in reports {
        for defaulted in &report.defaulted {
            let (field, expected) = match *defaulted {
                Defaulted::AllowPrivilegeEscalation => ("allowPrivilegeEscalation", "false".into()),
                Defaulted::SeccompProfile => ("seccompProfile.type", "RuntimeDefault".into()),
                Defaulted::CapabilitiesDrop => ("capabilities.drop", "[ALL]".to_string()),
                // An allowance that comes with the drop, not a requirement.
                Defaulted::CapabilitiesAddNetBindService => continue,
                Defaulted::RunAsNonRoot => ("runAsNonRoot", "true".into()),
                Defaulted::ReadOnlyRootFilesystem => ("readOnlyRootFilesystem", "true".into()),
                Defaulted::RunAsUser(uid) => ("runAsUser", uid.to_string()),
                Defaulted::RunAsGroup(gid) => ("runAsGroup", gid.to_string()),
            };
            let relative = format!("securityContext.{field}");
            let violation = match &report.container {
                Some(name) => Violation::in_container(
                    &report.path,
                    Some(name.as_str()).filter(|name| !name.is_empty()),
                    &relative,
                    &expected,
                    "unset".to_owned(),
                    control,
                ),
                None => Violation::pod(
                    format!("{}.{field}", report.path),
                    &relative,
                    &expected,
                    "unset".to_owned(),
                    control,
                ),
            };
            let already_reported = violations[..reported]
                .iter()
                .any(|found| found.path == violation.path);
            if !already_reported {
                violations.push(violation);
            }
        }
    }
}

/// The rules a rejection names: the Pod Security Standards level, the
/// fixed identity, the defaults `validate_only` requires.
fn rules_name(settings: &Settings) -> String {
    let mut rules = String::new();
    if settings.pod_security != PssLevel::Privileged {
        rules = checks::rules_name(settings.pod_security, settings.pod_security_version);
    }
    let mut identity = String::new();
    if let Some(uid) = settings.run_as_user {
        let _ = write!(identity, "runAsUser {uid}");
    }
    if let Some(gid) = settings.run_as_group {
        separate(&mut identity, ", ");
        let _ = write!(identity, "runAsGroup {gid}");
    }
    if settings.strict_capabilities {
        separate(&mut identity, ", ");
        identity.push_str("capabilities drop [ALL], add nothing");
    }
    if !identity.is_empty() {
        separate(&mut rules, " and ");
        let _ = write!(rules, "the fixed identity ({identity})");
    }
    if settings.validate_only {
        separate(&mut rules, " and ");
        let _ = write!(
            rules,
            "secure-pod-defaults \"{}\" (validate_only)",
            settings.secure_pod_defaults.name()
        );
    }
    rules
}

/// Adds `separator` to a list being written unless it is still empty.
fn separate(list: &mut String, separator: &str) {
    if !list.is_empty() {
        list.push_str(separator);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OBJECT: &str = r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"w"},"spec":{"template":{"spec":{"containers":[{"name":"app","image":"app:1","ports":[{"containerPort":80}]},{"image":"b:1"}]}}}}"#;

    fn answer(request_fields: &[(&str, &str)]) -> Response {
        let fields: Vec<String> = request_fields
            .iter()
            .map(|(key, value)| format!("\"{key}\": {value}"))
            .collect();
        let payload = format!(
            r#"{{"settings": {{"secure_pod_defaults": "enabled"}}, "request": {{{}}}}}"#,
            fields.join(",\n ")
        );
        evaluate(payload.as_bytes())
    }

    #[test]
    fn the_one_pass_read_and_the_two_pass_read_give_the_same_answer() {
        let kind = r#"{"group": "apps", "version": "v1", "kind": "Deployment"}"#;
        // Kind before the object, and a key after it: read in one pass.
        let one_pass = answer(&[
            ("kind", kind),
            ("object", OBJECT),
            ("oldObject", "null"),
            ("operation", "\"CREATE\""),
        ]);
        assert!(one_pass.mutated_object.is_some());
        for fields in [
            // The object last.
            vec![
                ("operation", "\"CREATE\""),
                ("kind", kind),
                ("object", OBJECT),
            ],
            // An escaped key.
            vec![
                ("kind", kind),
                ("obj\\u0065ct", OBJECT),
                ("operation", "\"CREATE\""),
            ],
            // The kind after the object: its template is read afterwards.
            vec![
                ("object", OBJECT),
                ("kind", kind),
                ("operation", "\"CREATE\""),
            ],
        ] {
            assert_eq!(answer(&fields), one_pass, "{fields:?}");
        }
        // Blanks between the tokens around the object.
        let spaced = format!(
            "{{\"request\" : {{ \"kind\" :{kind} , \"object\"\n:\t{OBJECT}\r\n,\n \"operation\" : \"CREATE\" }} }}"
        );
        let spaced_answer = evaluate(spaced.as_bytes());
        let unspaced = evaluate(
            format!(
                r#"{{"request": {{"kind": {kind}, "object": {OBJECT}, "operation": "CREATE"}}}}"#
            )
            .as_bytes(),
        );
        assert_eq!(spaced_answer, unspaced);
    }

    fn template_path() -> Option<request::TemplatePath> {
        Some(|group, kind| carriers::carrier(group, kind).map(|carrier| carrier.template_path))
    }

    #[test]
    fn only_a_new_objects_template_is_read_on_the_way() {
        let payload = format!(
            r#"{{"request": {{"kind": {{"group": "apps", "kind": "Deployment"}}, "object": {OBJECT}, "oldObject": {OBJECT}, "operation": "UPDATE"}}}}"#
        );
        let (_, template) = request::read(payload.as_bytes(), template_path()).unwrap();
        assert!(template.is_none());
        let twice = payload
            .replace("\"oldObject\"", "\"object\"")
            .replace("UPDATE", "CREATE");
        assert!(
            evaluate(twice.as_bytes())
                .message
                .unwrap()
                .ends_with("duplicate field `object`")
        );
        let create = payload.replace("UPDATE", "CREATE");
        let (payload, template) = request::read(create.as_bytes(), template_path()).unwrap();
        assert!(template.unwrap().spec().is_some());
        assert_eq!(payload.request.object, Some(OBJECT));
        // A template that cannot be read is left to its own reader.
        let unreadable = create.replace(r#""name":"app""#, r#""name":5"#);
        let (payload, template) = request::read(unreadable.as_bytes(), template_path()).unwrap();
        assert!(template.is_none());
        assert!(payload.request.object.is_some());
        assert_eq!(
            evaluate(unreadable.as_bytes()).message.unwrap(),
            "spec.template.spec.containers[0]: invalid type: integer `5`, expected a string"
        );
    }

    #[test]
    fn an_update_that_only_reorders_the_template_is_untouched() {
        let kind = r#"{"group": "apps", "version": "v1", "kind": "Deployment"}"#;
        let reordered = r#"{"spec":{"template":{"spec":{"containers":[{"ports":[{"containerPort":80}],"image":"app:1","name":"app"},{"image":"b:1"}]}}},"metadata":{"name":"w"},"kind":"Deployment","apiVersion":"apps/v1"}"#;
        let update = |object: &str| {
            answer(&[
                ("kind", kind),
                ("object", object),
                ("oldObject", OBJECT),
                ("operation", "\"UPDATE\""),
            ])
        };
        assert_eq!(update(reordered), Response::accept());
        let changed = reordered.replace("app:1", "app:2");
        assert!(update(&changed).mutated_object.is_some());
    }

    #[test]
    fn the_request_reads_the_same_with_its_template_or_without() {
        let payload = format!(
            r#"{{"settings": {{"a": [1]}}, "other": [{{}}], "request": {{"uid": "u-1", "kind": {{"group": "apps", "version": "v1", "kind": "Deployment", "x": 1}},
            "resource": {{"group": "apps"}}, "subResource": "", "name": "w", "namespace": "sh\u006fp", "operation": "CREATE",
            "userInfo": {{"username": "alice", "groups": ["a"]}}, "object": {OBJECT}, "oldObject": null, "dryRun": false}}}}"#
        );
        let (with, template) = request::read(payload.as_bytes(), template_path()).unwrap();
        let (without, none) = request::read(payload.as_bytes(), None).unwrap();
        assert!(template.is_some() && none.is_none());
        assert_eq!(with.settings, Some(r#"{"a": [1]}"#));
        assert_eq!(with.settings, without.settings);
        {
            let (with, without) = (&with.request, &without.request);
            assert_eq!(
                [
                    &with.uid,
                    &with.kind.group,
                    &with.kind.version,
                    &with.kind.kind
                ],
                [
                    &without.uid,
                    &without.kind.group,
                    &without.kind.version,
                    &without.kind.kind
                ]
            );
            assert_eq!(
                [
                    &with.name,
                    &with.namespace,
                    &with.operation,
                    &with.sub_resource
                ],
                [
                    &without.name,
                    &without.namespace,
                    &without.operation,
                    &without.sub_resource
                ]
            );
            assert_eq!(with.user_info.username, without.user_info.username);
            assert_eq!(
                (with.object, with.old_object),
                (without.object, without.old_object)
            );
        }
        assert_eq!(with.request.namespace, "shop");
        assert_eq!(with.request.user_info.username, "alice");
        assert_eq!(with.request.object, Some(OBJECT));
    }
}
