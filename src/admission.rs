//! One admission request, start to end: read it, find the pod spec, decide
//! what may be defaulted, default it, check the result, answer.
//!
//! An audit scanner's evaluation of an object that already runs goes the
//! same way, except that nothing is defaulted: the object is judged as it
//! is (see [`is_audit_evaluation`]).
//!
//! With `namespace_labels`, the levels come from the request's namespace
//! (see [`crate::namespace`]), looked up once the request is known to need
//! them: not for exempt or untouched requests.

use crate::carriers::{self, Carrier};
use crate::checks::{self, PssLevel};
use crate::defaults::{self, ContainerFacts, Defaulted, PodFacts};
use crate::edits::{self, Splicer};
use crate::images::{ImageUsers, Verdict};
use crate::insecure;
use crate::namespace::{self, LevelVersion, NamespacePolicy};
use crate::podspec::{Container, ContainerList, Pod};
use crate::request::{self, Request};
use crate::response::{self, Report, Response};
use crate::settings::{Level, Settings};
use crate::violation::{self, Violation};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use serde_json::value::RawValue;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

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
struct Plan<'a> {
    /// The object admitted.
    object: &'a RawValue,
    scope: Scope,
    /// The object may be changed (CREATE, a template change, new ephemeral
    /// containers); otherwise it is only checked.
    may_mutate: bool,
    /// A new object made by a controller from its own template is only
    /// checked (see [`made_from_a_defaulted_template`]).
    unless_made_by_a_controller: bool,
    /// The object already runs (an audit evaluation): it is judged as it
    /// is, and what the defaults would write is a violation, as with
    /// `validate_only`.
    audit: bool,
}

/// The answer to one waPC `validate` payload.
pub fn evaluate(payload: &[u8]) -> Response {
    let payload = match request::read(payload) {
        Ok(payload) => payload,
        Err(message) => return Response::reject(message),
    };
    let mut settings = match payload.settings {
        None => Settings::default(),
        Some(text) => match Settings::from_json(text.get().as_bytes()) {
            Ok(settings) => settings,
            Err(message) => {
                return Response::reject(format!("the policy settings are not valid: {message}"));
            }
        },
    };
    let request = &payload.request;
    let response = admit(&mut settings, request);
    crate::log::request_answered(
        &request.kind.kind,
        &request.operation,
        &request.namespace,
        &request.name,
        &response,
    );
    response
}

/// Decides, for one request, what to default and what to check, and does
/// it. The settings' levels give way to the namespace's, with
/// `namespace_labels`.
fn admit(settings: &mut Settings, request: &Request) -> Response {
    let Some(carrier) = carriers::carrier(&request.kind.group, &request.kind.kind) else {
        return Response::accept();
    };
    let exemptions = &settings.exemptions;
    if exemptions
        .namespaces
        .iter()
        .any(|namespace| *namespace == request.namespace)
        || exemptions
            .usernames
            .iter()
            .any(|user| *user == request.user_info.username)
    {
        return Response::accept();
    }
    let answer = plan(carrier, request).and_then(|plan| match plan {
        Some(plan) => default_and_check(carrier, settings, &plan, &request.namespace),
        None => Ok(Response::accept()),
    });
    answer.unwrap_or_else(Response::reject)
}

/// Whether `request` is Kubewarden's audit scanner evaluating an object that
/// already exists, rather than the API server admitting one.
///
/// The scanner sends every existing object as a synthetic CREATE with an
/// empty `userInfo`, to policy-server's `/audit` endpoint, which passes the
/// request to the policy as it passes the API server's. The API server
/// always names the user who sends a request: an authenticated user, a
/// controller's service account (`system:serviceaccount:...`), even
/// `system:anonymous` for a request without credentials. An empty username
/// is therefore a mark the API server never produces, and it is the one
/// used here. The scanner's other marks are not: a CREATE without
/// `oldObject` is what the API server sends for every new object, and
/// `resource.resource` holding the Kind is a detail of how the scanner is
/// written today, which a fix there would silently undo.
///
/// The scanner sends nothing but CREATEs, so only a CREATE is read this way.
/// A request taken for an audit evaluation is judged more strictly than an
/// admission (nothing is defaulted, so what the defaults would write is
/// reported), never less.
fn is_audit_evaluation(request: &Request) -> bool {
    request.operation == "CREATE" && request.user_info.username.is_empty()
}

/// What a request allows: `None` when it is accepted untouched.
fn plan<'a>(carrier: &Carrier, request: &Request<'a>) -> Result<Option<Plan<'a>>, String> {
    let operation = request.operation.as_ref();
    let sub_resource = request.sub_resource.as_ref();
    let handled = matches!((operation, sub_resource), ("CREATE", "") | ("UPDATE", ""))
        || (operation, sub_resource) == ("UPDATE", "ephemeralcontainers") && carrier.kind == "Pod";
    if !handled {
        // DELETE, CONNECT and other subresources.
        return Ok(None);
    }
    // The API server always sends the object of a CREATE or an UPDATE.
    let object = request
        .object
        .ok_or_else(|| format!("the {operation} request carries no object to admit"))?;
    let everything = |may_mutate| Plan {
        object,
        scope: Scope::Everything,
        may_mutate,
        unless_made_by_a_controller: false,
        audit: false,
    };
    let plan = match (operation, sub_resource) {
        // Every object is judged as it runs, whoever made it: the rule for
        // a controller's copies below is about not writing into them.
        ("CREATE", _) if is_audit_evaluation(request) => Plan {
            audit: true,
            ..everything(true)
        },
        ("CREATE", _) => Plan {
            unless_made_by_a_controller: carrier.kind != "Pod",
            ..everything(true)
        },
        (_, "ephemeralcontainers") => Plan {
            scope: Scope::EphemeralContainersNotIn(ephemeral_names(carrier, request.old_object)?),
            ..everything(true)
        },
        _ => {
            let Some(old_object) = request.old_object else {
                return Ok(Some(everything(!carrier.immutable)));
            };
            if carrier.immutable {
                // A pod's spec can barely change; as Pod Security Admission
                // does, only an update that changes what runs is checked.
                let pod = read_pod(carrier, object, "the object")?;
                let old_pod = read_pod(carrier, old_object, "the old object")?;
                if !significant_pod_update(pod.as_ref(), old_pod.as_ref()) {
                    return Ok(None);
                }
                everything(false)
            } else {
                // A scale, a label or a status change: defaulting now would
                // start a rollout nobody asked for, and the template was
                // already admitted.
                let template = whole_template(carrier, object, "the object")?;
                let old_template = whole_template(carrier, old_object, "the old object")?;
                if template == old_template {
                    return Ok(None);
                }
                everything(true)
            }
        }
    };
    Ok(Some(plan))
}

/// A ReplicaSet made by a Deployment, a Job made by a CronJob, a Revision
/// made by a Configuration: its owner's template, which this policy
/// defaulted, is the source of truth. Changing the copy would make the
/// owner's controller see a template that differs from its own and create
/// another copy, again and again; the Pods it creates are defaulted instead.
fn made_from_a_defaulted_template(owners: &[OwnerReference]) -> bool {
    owners.iter().any(|owner| {
        let group = owner
            .api_version
            .rsplit_once('/')
            .map_or("", |(group, _)| group);
        owner.controller == Some(true) && carriers::carrier(group, &owner.kind).is_some()
    })
}

/// The whole pod template of `object` as a JSON value, to compare an
/// update's old and new templates (`null` when the object has none); `which`
/// names what could not be read in the message.
fn whole_template(
    carrier: &Carrier,
    object: &RawValue,
    which: &str,
) -> Result<serde_json::Value, String> {
    let cannot_read = |reason: String| format!("{which} cannot be read: {reason}");
    match carrier.template_text(object).map_err(cannot_read)? {
        Some(text) => serde_json::from_slice(text.get().as_bytes())
            .map_err(|error| cannot_read(crate::podspec::reason(&error))),
        None => Ok(serde_json::Value::Null),
    }
}

/// The pod of `object`, read for the rules (`None` when it has no pod spec);
/// `which` names what could not be read in the message.
fn read_pod<'a>(
    carrier: &Carrier,
    object: &'a RawValue,
    which: &str,
) -> Result<Option<Pod<'a>>, String> {
    carrier.read_pod(object, false).map_err(|reason| {
        if which == "the object" {
            reason
        } else {
            format!("{which} cannot be read: {reason}")
        }
    })
}

/// The containers of one list, in their order.
fn list<'p, 'a>(pod: Option<&'p Pod<'a>>, list: ContainerList) -> Vec<&'p Container<'a>> {
    let containers = pod.map_or(&[][..], |pod| pod.containers.as_slice());
    containers
        .iter()
        .filter(|container| container.list == list)
        .collect()
}

/// Pod Security Admission's test for a pod UPDATE worth checking: a
/// container added or removed, an image changed, an ephemeral container
/// added, or a seccomp annotation changed. Every other pod spec field is
/// immutable or irrelevant to the standards.
fn significant_pod_update(pod: Option<&Pod>, old_pod: Option<&Pod>) -> bool {
    const POD_SECCOMP_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
    const CONTAINER_SECCOMP_ANNOTATION: &str = "container.seccomp.security.alpha.kubernetes.io/";
    let annotation = |pod: Option<&Pod>, key: &str| -> Option<String> {
        pod.and_then(|pod| pod.annotations.get(key).cloned())
    };
    let changed = |container: &Container, old_container: &Container| -> bool {
        let seccomp_key = format!("{CONTAINER_SECCOMP_ANNOTATION}{}", container.name());
        container.image() != old_container.image()
            || annotation(pod, &seccomp_key) != annotation(old_pod, &seccomp_key)
    };
    if annotation(pod, POD_SECCOMP_ANNOTATION) != annotation(old_pod, POD_SECCOMP_ANNOTATION) {
        return true;
    }
    for containers in [ContainerList::Containers, ContainerList::InitContainers] {
        let (new, old) = (list(pod, containers), list(old_pod, containers));
        if new.len() != old.len() || new.iter().zip(&old).any(|(n, o)| changed(n, o)) {
            return true;
        }
    }
    let old_ephemeral = list(old_pod, ContainerList::EphemeralContainers);
    list(pod, ContainerList::EphemeralContainers)
        .iter()
        .any(|container| {
            let old = old_ephemeral
                .iter()
                .find(|old| old.fields.name == container.fields.name);
            old.is_none_or(|old| changed(container, old))
        })
}

/// The names of the ephemeral containers the pod had before this request.
fn ephemeral_names(
    carrier: &Carrier,
    old_object: Option<&RawValue>,
) -> Result<Vec<String>, String> {
    let Some(old_object) = old_object else {
        return Ok(Vec::new());
    };
    let old_pod = read_pod(carrier, old_object, "the old object")?;
    let ephemeral = list(old_pod.as_ref(), ContainerList::EphemeralContainers);
    Ok(ephemeral
        .iter()
        .map(|container| container.name().to_owned())
        .collect())
}

/// What defaulting did, or would do, to one object.
#[derive(Default)]
struct Defaulting {
    /// The object with the defaults written in, when anything changed.
    mutated_object: Option<String>,
    reports: Vec<Report>,
    /// Paths of containers whose image is exempt (`spec.containers[2]`).
    exempt_containers: BTreeSet<String>,
}

fn default_and_check(
    carrier: &Carrier,
    settings: &mut Settings,
    plan: &Plan,
    namespace: &str,
) -> Result<Response, String> {
    let Some(mut pod) = carrier.read_pod(plan.object, writes_pod_defaults(settings, carrier))?
    else {
        return Ok(Response::accept());
    };
    let exempt_runtime_class = pod.spec.runtime_class_name.as_ref().is_some_and(|class| {
        settings
            .exemptions
            .runtime_class_names
            .iter()
            .any(|exempt| exempt == class)
    });
    if exempt_runtime_class {
        return Ok(Response::accept());
    }
    // From here on the levels are the namespace's, for this request; the
    // extras (identity, read-only root filesystem) stay cluster-wide.
    let namespace_policy = settings.namespace_labels.then(|| {
        let policy = namespace::policy(settings, namespace);
        settings.secure_pod_defaults = policy.defaults;
        settings.pod_security = policy.enforce.level;
        settings.pod_security_version = policy.enforce.version;
        policy
    });
    let settings = &*settings;
    // The checks read what will be admitted: the defaulted securityContexts
    // when the object is changed, the ones it has otherwise.
    let may_mutate = plan.may_mutate
        && !(plan.unless_made_by_a_controller && made_from_a_defaulted_template(&pod.owners));
    // Defaults that could be written but are not become violations: with
    // validate_only, and for an object that already runs.
    let requires_defaults = may_mutate && (settings.validate_only || plan.audit);
    let mutates = may_mutate && !requires_defaults;
    let defaulting = default_pod(carrier, settings, &mut pod, plan, mutates)?;
    let mutated_object = defaulting.mutated_object.filter(|_| mutates);

    let mut violations = check(settings, &pod, &defaulting.exempt_containers);
    if requires_defaults {
        would_default(&defaulting.reports, &mut violations);
        violation::sort_and_dedup(&mut violations);
    }
    if !violations.is_empty() {
        // A running object that lacks defaults is told why and how to get
        // them; its other violations it shares with a new object.
        let lacks_defaults = plan.audit
            && defaulting
                .reports
                .iter()
                .any(|report| !report.defaulted.is_empty());
        let rules = rules_name(settings, lacks_defaults);
        let mut message = violation::render_message(&rules, &violations);
        if lacks_defaults {
            message.push('\n');
            message.push_str(&predates_the_defaults(carrier));
        }
        let mut audit_annotations = BTreeMap::new();
        audit_annotations.extend(violation::audit_annotations(&violations));
        let mut warnings = Vec::new();
        if let Some(policy) = namespace_policy.filter(|_| !plan.audit) {
            let levels = NamespaceLevels::judge(&policy, &pod, &defaulting.exempt_containers, None);
            audit_annotations.extend(levels.audit_annotation);
            warnings = policy.warnings;
        }
        return Ok(Response {
            accepted: false,
            message: Some(message),
            audit_annotations,
            warnings,
            ..Response::default()
        });
    }
    // The namespace's warnings first, then what was defaulted, then what
    // the warn level finds.
    let (mut warnings, levels) = match namespace_policy.filter(|_| !plan.audit) {
        Some(policy) => {
            // The enforce level found nothing: checks at the same level
            // and version would find nothing either.
            let passed = Some(policy.enforce);
            let levels =
                NamespaceLevels::judge(&policy, &pod, &defaulting.exempt_containers, passed);
            (policy.warnings, Some(levels))
        }
        None => (Vec::new(), None),
    };
    if may_mutate {
        warnings.extend(response::warnings(&defaulting.reports));
    }
    let mut audit_annotations = BTreeMap::new();
    if let Some(levels) = levels {
        audit_annotations.extend(levels.audit_annotation);
        warnings.extend(levels.warnings);
    }
    Ok(Response {
        accepted: true,
        mutated_object,
        warnings,
        audit_annotations,
        ..Response::default()
    })
}

/// What a namespace's audit and warn levels find in the object admitted.
struct NamespaceLevels {
    /// The violations at the audit level, under their own key.
    audit_annotation: Option<(String, String)>,
    /// The violations at the warn level, one warning each; only for an
    /// object that is admitted, as Pod Security Admission warns.
    warnings: Vec<String>,
}

impl NamespaceLevels {
    /// Checks `pod` at the policy's audit level, and at its warn level when
    /// `passed` is given: the level the object already passed, which
    /// needs no second run.
    fn judge(
        policy: &NamespacePolicy,
        pod: &Pod,
        exempt_containers: &BTreeSet<String>,
        passed: Option<LevelVersion>,
    ) -> NamespaceLevels {
        let at = |level: LevelVersion| -> Vec<Violation> {
            if level.level == PssLevel::Privileged || Some(level) == passed {
                return Vec::new();
            }
            standards_violations(level.level, level.version, pod, exempt_containers)
        };
        let audited = at(policy.audit);
        let mut warnings = Vec::new();
        if passed.is_some() {
            let warned = if policy.warn == policy.audit {
                audited.clone()
            } else {
                at(policy.warn)
            };
            if !warned.is_empty() {
                let rules = checks::rules_name(policy.warn.level, policy.warn.version);
                warnings = violation::render_warnings(&rules, &warned);
            }
        }
        let audit_annotation = (!audited.is_empty()).then(|| {
            (
                violation::AUDIT_LEVEL_ANNOTATION_KEY.to_owned(),
                violation::to_json(&audited),
            )
        });
        NamespaceLevels {
            audit_annotation,
            warnings,
        }
    }
}

/// Defaults `pod` within the plan's scope, writes the defaults into the
/// object's text, and reports what it wrote and what stays insecure. With
/// `mutates`, the defaulted securityContexts replace the read ones in
/// `pod`, for the checks.
fn default_pod(
    carrier: &Carrier,
    settings: &Settings,
    pod: &mut Pod,
    plan: &Plan,
    mutates: bool,
) -> Result<Defaulting, String> {
    let windows = pod.is_windows();
    let mut splicer = Splicer::new(plan.object.get());
    let mut defaulting = Defaulting::default();

    let pod_level_writable = plan.scope == Scope::Everything && !carrier.knative && !windows;
    let mut pod_security_context = pod.security_context.clone();
    let mut pod_defaulted = Vec::new();
    if pod_level_writable {
        pod_defaulted = default_pod_identity(settings, &mut pod_security_context);
    }

    let facts = PodFacts {
        security_context: pod_security_context.as_ref(),
        windows,
        identity_on_containers: carrier.knative,
    };
    // Images are read only with the setting, at `enabled`, on Linux pods:
    // otherwise no host call is made.
    let decides_from_images = settings.run_as_non_root_from_image
        && settings.secure_pod_defaults == Level::Enabled
        && !windows;
    let mut image_users = ImageUsers::from_host();
    let weighs_low_ports =
        (settings.run_as_non_root_from_image || settings.unprivileged_port_sysctl) && !windows;
    let mut reports = Vec::new();
    // The low ports of each container that runs as non-root, by report.
    let mut low_ports: Vec<(usize, Vec<i32>)> = Vec::new();
    for list in ContainerList::ALL {
        for container in pod.containers.iter_mut() {
            if container.list != list {
                continue;
            }
            if settings.exemptions.image(container.image().unwrap_or("")) {
                defaulting.exempt_containers.insert(container.path());
                continue;
            }
            if let Scope::EphemeralContainersNotIn(existing) = &plan.scope {
                let is_new = list == ContainerList::EphemeralContainers
                    && !existing.iter().any(|name| name == container.name());
                if !is_new {
                    continue;
                }
            }
            let mut security_context = container.security_context.clone().unwrap_or_default();
            let verdict = (decides_from_images
                && defaults::run_as_non_root_unset(facts.security_context, &security_context))
            .then(|| {
                let run_as_user =
                    defaults::effective_run_as_user(settings, &facts, &security_context);
                Verdict::decide(
                    run_as_user,
                    container.image().unwrap_or(""),
                    &mut image_users,
                )
            });
            let container_facts = ContainerFacts {
                binds_low_port: container.binds_low_port(),
                non_root_verified: verdict.as_ref().is_none_or(|v| *v == Verdict::NonRoot),
            };
            let defaulted = defaults::default_container(
                settings,
                &facts,
                &container_facts,
                &mut security_context,
            );
            let insecure = insecure::container_findings(
                settings.secure_pod_defaults,
                facts.security_context,
                windows,
                Some(&security_context),
            );
            let mut notes = Vec::new();
            if let Some(verdict) = &verdict {
                notes.extend(verdict.warning());
                container.run_as_root_reason = verdict.reason();
            }
            if weighs_low_ports && runs_as_non_root(&facts, &security_context) {
                let ports = container.low_ports();
                if !ports.is_empty() {
                    low_ports.push((reports.len(), ports));
                }
            }
            if !defaulted.is_empty() {
                let fields = edits::container_fields(&defaulted, &security_context)?;
                edits::write_security_context(
                    &mut splicer,
                    container.raw,
                    container.fields.security_context,
                    &security_context,
                    &fields,
                )?;
                if mutates {
                    container.security_context = Some(security_context);
                }
            }
            reports.push(Report {
                path: container.path(),
                container: Some(container.name().to_owned()),
                defaulted,
                insecure,
                notes,
            });
        }
    }

    // The low ports of non-root containers: opened by the pod sysctl where
    // the setting may write it, else each told.
    let pod_value = unprivileged_port_start(pod_security_context.as_ref());
    // The kubelet refuses a pod on the host's network that sets a network
    // sysctl: it would change the node's.
    let host_network = pod.spec.host_network == Some(true);
    let sysctl_writable = settings.unprivileged_port_sysctl
        && pod_level_writable
        && pod_value.is_none()
        && !host_network;
    let lowest = low_ports.iter().flat_map(|(_, ports)| ports).min().copied();
    match lowest.filter(|_| sysctl_writable) {
        Some(port) => {
            pod_security_context
                .get_or_insert_with(Default::default)
                .sysctls
                .get_or_insert_with(Vec::new)
                .push(edits::unprivileged_port_start(port));
            pod_defaulted.push(Defaulted::UnprivilegedPortStart(port));
        }
        None => {
            // A value that does not read as a port lets no port through.
            let bindable_from = pod_value.flatten().unwrap_or(1024);
            for (report, ports) in low_ports {
                let refused: Vec<i32> = ports.into_iter().filter(|p| *p < bindable_from).collect();
                if let Some(note) = low_ports_warning(&refused, host_network) {
                    reports[report].notes.push(note);
                }
            }
        }
    }

    if !pod_defaulted.is_empty() {
        let security_context = pod_security_context.unwrap_or_default();
        write_pod_defaults(pod, &security_context, &pod_defaulted, &mut splicer)?;
        defaulting.reports.push(Report {
            path: format!("{}.securityContext", pod.spec_path),
            container: None,
            defaulted: pod_defaulted,
            insecure: Vec::new(),
            notes: Vec::new(),
        });
        if mutates {
            pod.security_context = Some(security_context);
        }
    }
    defaulting
        .reports
        .extend(reports.into_iter().filter(|report| {
            !(report.defaulted.is_empty() && report.insecure.is_empty() && report.notes.is_empty())
        }));

    if !splicer.is_empty() {
        defaulting.mutated_object = Some(splicer.apply());
    }
    Ok(defaulting)
}

/// Whether a defaulted container runs as a non-root user: it must
/// (`runAsNonRoot: true`, its own or its pod's) or its `runAsUser` is not 0.
fn runs_as_non_root(
    pod: &PodFacts,
    security_context: &k8s_openapi::api::core::v1::SecurityContext,
) -> bool {
    let pod_context = pod.security_context;
    let must = security_context
        .run_as_non_root
        .or_else(|| pod_context.and_then(|pod| pod.run_as_non_root));
    let uid = security_context
        .run_as_user
        .or_else(|| pod_context.and_then(|pod| pod.run_as_user));
    must == Some(true) || uid.is_some_and(|uid| uid != 0)
}

/// The pod's `net.ipv4.ip_unprivileged_port_start`: `None` when it sets
/// none, `Some(None)` when its value is not a number.
fn unprivileged_port_start(
    pod_security_context: Option<&k8s_openapi::api::core::v1::PodSecurityContext>,
) -> Option<Option<i32>> {
    let sysctls = pod_security_context.and_then(|pod| pod.sysctls.as_ref());
    let sysctl = sysctls?
        .iter()
        .rfind(|sysctl| sysctl.name == defaults::UNPRIVILEGED_PORT_START)?;
    Some(sysctl.value.trim().parse().ok())
}

/// The warning for a non-root container that declares `ports`, below 1024,
/// which it will not be allowed to bind (`None` when there are none); on
/// the host's network the sysctl is no way out.
fn low_ports_warning(ports: &[i32], host_network: bool) -> Option<String> {
    let lowest = ports.iter().min()?;
    let listed: Vec<String> = ports.iter().map(i32::to_string).collect();
    let noun = if ports.len() == 1 { "port" } else { "ports" };
    let sysctl = defaults::UNPRIVILEGED_PORT_START;
    let mut warning = format!(
        "as non-root it cannot bind {noun} {} (NET_BIND_SERVICE has no effect without root); \
         use a port >= 1024",
        listed.join(", ")
    );
    let _ = match host_network {
        true => write!(warning, " ({sysctl} is not allowed with hostNetwork)"),
        false => write!(warning, ", or the pod sysctl {sysctl}={lowest}"),
    };
    Some(warning)
}

/// Whether a pod-level default may be written on the pod-level
/// securityContext, which, where the pod has none, is added to the pod spec:
/// the fixed identity, and the unprivileged port sysctl.
fn writes_pod_defaults(settings: &Settings, carrier: &Carrier) -> bool {
    let identity = settings.run_as_user.is_some() || settings.run_as_group.is_some();
    (identity || settings.unprivileged_port_sysctl) && !carrier.knative
}

/// The optional `run_as_user` / `run_as_group`, written into the pod-level
/// securityContext where it does not set them; the text is edited with the
/// pod's other defaults ([`write_pod_defaults`]).
fn default_pod_identity(
    settings: &Settings,
    pod_security_context: &mut Option<k8s_openapi::api::core::v1::PodSecurityContext>,
) -> Vec<Defaulted> {
    if settings.run_as_user.is_none() && settings.run_as_group.is_none() {
        return Vec::new();
    }
    let had_none = pod_security_context.is_none();
    let security_context = pod_security_context.get_or_insert_with(Default::default);
    let defaulted = defaults::identity(
        settings,
        (None, None),
        &mut security_context.run_as_user,
        &mut security_context.run_as_group,
    );
    if defaulted.is_empty() && had_none {
        *pod_security_context = None;
    }
    defaulted
}

/// Writes the pod-level `defaulted` fields of `security_context` into the
/// pod spec's text, into its securityContext or as a new one.
fn write_pod_defaults<'a>(
    pod: &Pod<'a>,
    security_context: &k8s_openapi::api::core::v1::PodSecurityContext,
    defaulted: &[Defaulted],
    splicer: &mut Splicer<'a>,
) -> Result<(), String> {
    // Kept for this by `writes_pod_defaults`.
    let spec_text = pod
        .spec_text
        .ok_or("the pod spec was read without its text, which the pod-level defaults need")?;
    let fields = edits::pod_fields(defaulted)?;
    edits::write_security_context(
        splicer,
        spec_text,
        pod.spec.security_context,
        security_context,
        &fields,
    )
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

/// Every violation of the configured checks in the (defaulted) pod,
/// leaving out containers whose image is exempt.
fn check(settings: &Settings, pod: &Pod, exempt_containers: &BTreeSet<String>) -> Vec<Violation> {
    if !checks_configured(settings) {
        return Vec::new();
    }
    let mut violations = Vec::new();
    if settings.pod_security != PssLevel::Privileged {
        violations = checks::check_pod(settings.pod_security, settings.pod_security_version, pod);
    }
    if identity_configured(settings) {
        violations.extend(checks::check_identity(
            settings.run_as_user,
            settings.run_as_group,
            settings.strict_capabilities,
            pod,
        ));
    }
    leave_out_exempt(&mut violations, exempt_containers);
    violation::sort_and_dedup(&mut violations);
    violations
}

/// The Pod Security Standards' violations at `level` and `version` in the
/// pod, sorted, leaving out containers whose image is exempt.
fn standards_violations(
    level: PssLevel,
    version: checks::PssVersion,
    pod: &Pod,
    exempt_containers: &BTreeSet<String>,
) -> Vec<Violation> {
    let mut violations = checks::check_pod(level, version, pod);
    leave_out_exempt(&mut violations, exempt_containers);
    violations
}

fn leave_out_exempt(violations: &mut Vec<Violation>, exempt_containers: &BTreeSet<String>) {
    violations.retain(|violation| {
        violation
            .container_path()
            .is_none_or(|path| !exempt_containers.contains(path))
    });
}

/// The unprivileged port sysctl as a violation names it.
const SYSCTL_FIELD: &str = "sysctls[net.ipv4.ip_unprivileged_port_start]";

/// With `validate_only`, and in an audit verdict, what defaulting would have
/// written, as violations added to `violations`, except where a check
/// already reported the field.
fn would_default(reports: &[Report], violations: &mut Vec<Violation>) {
    let control = "secure-pod-defaults";
    // Extended, not collected: a B-tree's `collect` sorts with the stable
    // sort, whose code the module otherwise does without.
    let mut reported = BTreeSet::new();
    reported.extend(violations.iter().map(|violation| violation.path.clone()));
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
                Defaulted::UnprivilegedPortStart(port) => (SYSCTL_FIELD, port.to_string()),
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
            if !reported.contains(&violation.path) {
                violations.push(violation);
            }
        }
    }
}

/// What an audit verdict adds when the defaults are missing from an object
/// that already runs: why it lacks them (the policy writes them only when a
/// pod template is created or changed) and what makes it get them.
fn predates_the_defaults(carrier: &Carrier) -> String {
    let kind = carrier.kind;
    let remedy = match (carrier.knative, kind) {
        (false, "Pod") => "re-create the Pod, or roll out the workload that owns it",
        (false, "Job") => {
            "re-create the Job, or change the job template of the CronJob that starts it"
        }
        (false, "ReplicaSet") => "roll out the Deployment that owns it, or change its pod template",
        (false, "CronJob") => "change its job template; the Jobs it starts next get them",
        (false, "ReplicationController") => "change its pod template, then replace its Pods",
        (false, "PodTemplate") => "change its template, or re-create it",
        (false, _) => "roll it out: kubectl rollout restart, or any change to its pod template",
        (true, "Revision") => {
            "change the template of the Service or Configuration that made it; the next Revision gets them"
        }
        (true, _) => "change its template; the next Revision gets them",
    };
    format!(
        "The {kind} predates these defaults: the policy writes them only when a pod template \
         is created or changed. To pick them up, {remedy}."
    )
}

/// The rules a rejection names: the Pod Security Standards level, the
/// fixed identity, the defaults `validate_only` requires, or, in an audit
/// verdict, the defaults an object that already runs lacks.
fn rules_name(settings: &Settings, lacks_defaults: bool) -> String {
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
    } else if lacks_defaults {
        separate(&mut rules, " and ");
        let _ = write!(
            rules,
            "secure-pod-defaults \"{}\"",
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

    /// The answer at `enabled` to a request with these fields, from a user
    /// unless the fields give a `userInfo` (the API server always names one).
    fn answer(request_fields: &[(&str, &str)]) -> Response {
        answer_with(r#"{"secure_pod_defaults": "enabled"}"#, request_fields)
    }

    fn answer_with(settings: &str, request_fields: &[(&str, &str)]) -> Response {
        let mut fields: Vec<String> = request_fields
            .iter()
            .map(|(key, value)| format!("\"{key}\": {value}"))
            .collect();
        if !request_fields.iter().any(|(key, _)| *key == "userInfo") {
            fields.push(r#""userInfo": {"username": "alice"}"#.to_owned());
        }
        let payload = format!(
            r#"{{"settings": {settings}, "request": {{{}}}}}"#,
            fields.join(",\n ")
        );
        evaluate(payload.as_bytes())
    }

    const DEPLOYMENT: &str = r#"{"group": "apps", "version": "v1", "kind": "Deployment"}"#;

    /// A CREATE of `object` (a Deployment) as the audit scanner sends it.
    fn audit(settings: &str, object: &str) -> Response {
        answer_with(
            settings,
            &[
                ("kind", DEPLOYMENT),
                (
                    "resource",
                    r#"{"group": "apps", "version": "v1", "resource": "Deployment"}"#,
                ),
                ("operation", "\"CREATE\""),
                ("userInfo", "{}"),
                ("object", object),
            ],
        )
    }

    #[test]
    fn an_audit_evaluation_judges_the_object_as_it_runs() {
        let verdict = audit(r#"{"secure_pod_defaults": "root-allowed"}"#, OBJECT);
        assert!(!verdict.accepted);
        assert_eq!(verdict.mutated_object, None);
        assert_eq!(
            verdict.message.as_deref(),
            Some(
                "6 violations of secure-pod-defaults \"root-allowed\":\n\
                 - spec.template.spec.containers[0] \"app\": securityContext.allowPrivilegeEscalation must be false (is unset)\n\
                 - spec.template.spec.containers[0] \"app\": securityContext.capabilities.drop must be [ALL] (is unset)\n\
                 - spec.template.spec.containers[0] \"app\": securityContext.seccompProfile.type must be RuntimeDefault (is unset)\n\
                 - spec.template.spec.containers[1].securityContext.allowPrivilegeEscalation must be false (is unset)\n\
                 - spec.template.spec.containers[1].securityContext.capabilities.drop must be [ALL] (is unset)\n\
                 - spec.template.spec.containers[1].securityContext.seccompProfile.type must be RuntimeDefault (is unset)\n\
                 The Deployment predates these defaults: the policy writes them only when a pod \
                 template is created or changed. To pick them up, roll it out: kubectl rollout \
                 restart, or any change to its pod template."
            )
        );
    }

    #[test]
    fn a_running_object_that_has_the_defaults_passes_the_audit() {
        let compliant = r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"w"},"spec":{"template":{"spec":{"containers":[{"name":"app","image":"app:1","securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]},"seccompProfile":{"type":"RuntimeDefault"}}}]}}}}"#;
        let settings = r#"{"secure_pod_defaults": "root-allowed", "pod_security": "baseline"}"#;
        assert_eq!(audit(settings, compliant), Response::accept());
        // Only the checks' violations: nothing the defaults would write.
        let host_port = compliant.replace(
            r#""image":"app:1","#,
            r#""image":"app:1","ports":[{"containerPort":80,"hostPort":80}],"#,
        );
        assert_eq!(
            audit(settings, &host_port).message.as_deref(),
            Some(
                "1 violation of PodSecurity \"baseline:latest\":\n\
                 - spec.template.spec.containers[0] \"app\": ports[0].hostPort must be 0 or unset (is 80)"
            )
        );
    }

    #[test]
    fn only_a_request_without_a_username_is_an_audit_evaluation() {
        let create = |user_info: Option<&str>| {
            let mut fields = vec![
                ("kind", DEPLOYMENT),
                ("operation", "\"CREATE\""),
                ("object", OBJECT),
            ];
            fields.extend(user_info.map(|user_info| ("userInfo", user_info)));
            answer_with(r#"{"secure_pod_defaults": "enabled"}"#, &fields)
        };
        for user in [
            r#"{"username": "system:anonymous", "groups": ["system:unauthenticated"]}"#,
            r#"{"username": "system:serviceaccount:kube-system:replicaset-controller"}"#,
        ] {
            let admitted = create(Some(user));
            assert!(
                admitted.accepted && admitted.mutated_object.is_some(),
                "{user}"
            );
        }
        for user in [
            "{}",
            r#"{"username": ""}"#,
            r#"{"groups": ["system:masters"]}"#,
        ] {
            let audited = create(Some(user));
            assert!(
                !audited.accepted && audited.mutated_object.is_none(),
                "{user}"
            );
        }
        // The scanner sends only CREATEs: any other request is admitted.
        let old_object = OBJECT.replace("app:1", "app:0");
        let update = answer(&[
            ("kind", DEPLOYMENT),
            ("operation", "\"UPDATE\""),
            ("userInfo", "{}"),
            ("object", OBJECT),
            ("oldObject", &old_object),
        ]);
        assert!(update.accepted && update.mutated_object.is_some());
    }

    #[test]
    fn a_copy_made_by_a_controller_is_judged_in_an_audit() {
        let replica_set = OBJECT.replace("\"Deployment\"", "\"ReplicaSet\"").replace(
            r#""metadata":{"name":"w"}"#,
            r#""metadata":{"name":"w-1","ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"w","uid":"u","controller":true}]}"#,
        );
        let kind = r#"{"group": "apps", "version": "v1", "kind": "ReplicaSet"}"#;
        let mut fields = vec![
            ("kind", kind),
            ("operation", "\"CREATE\""),
            ("object", replica_set.as_str()),
        ];
        // From the API server: only checked, and there is no check.
        assert_eq!(answer(&fields), Response::accept());
        fields.push(("userInfo", "{}"));
        let verdict = answer(&fields);
        assert!(!verdict.accepted);
        let message = verdict.message.unwrap();
        assert!(
            message.starts_with("8 violations of secure-pod-defaults \"enabled\":"),
            "{message}"
        );
        assert!(
            message.ends_with(
                "To pick them up, roll out the Deployment that owns it, or change its pod template."
            ),
            "{message}"
        );
    }

    #[test]
    fn the_order_of_the_request_fields_does_not_change_the_answer() {
        let kind = r#"{"group": "apps", "version": "v1", "kind": "Deployment"}"#;
        let first = answer(&[
            ("kind", kind),
            ("object", OBJECT),
            ("oldObject", "null"),
            ("operation", "\"CREATE\""),
        ]);
        assert!(first.mutated_object.is_some());
        for fields in [
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
            vec![
                ("object", OBJECT),
                ("kind", kind),
                ("operation", "\"CREATE\""),
            ],
        ] {
            assert_eq!(answer(&fields), first, "{fields:?}");
        }
    }

    #[test]
    fn a_create_or_update_without_an_object_is_refused() {
        let kind = r#"{"group": "", "version": "v1", "kind": "Pod"}"#;
        for operation in ["\"CREATE\"", "\"UPDATE\""] {
            for object in [None, Some("null")] {
                let mut fields = vec![("kind", kind), ("operation", operation)];
                fields.extend(object.map(|object| ("object", object)));
                let refused = answer(&fields);
                assert!(!refused.accepted);
                assert!(refused.message.unwrap().contains("carries no object"));
            }
        }
        let delete = answer(&[("kind", kind), ("operation", "\"DELETE\"")]);
        assert_eq!(delete, Response::accept());
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
}
