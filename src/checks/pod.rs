//! Read-only views of a pod spec given as JSON, and the few value helpers
//! every check shares.
//!
//! PSA reads a decoded `corev1.PodSpec`; this module reads the same fields
//! from JSON. Where a field is `null` it is treated as unset, as Go's decoder
//! leaves a pointer nil for `null`. Where a value has a type Go's decoder
//! could not have produced (a string where a boolean belongs, a number where
//! an object belongs), the API server would have refused the object before
//! PSA saw it; here the check reports such a value as a violation whenever
//! the field is one a control restricts (it is not one of the allowed
//! values), and skips anything that only holds restricted fields (a
//! `securityContext` that is not an object simply has no restricted field
//! set). List entries that are not objects (a container given as a string)
//! hold nothing to check and are skipped.

use crate::value::{Map, Value};
use crate::violation::Violation;
use std::fmt::Write;

/// A pod spec (a `PodSpec`, or a Knative `RevisionSpec` that inlines one)
/// with its template metadata and where both sit in the admitted object.
#[derive(Debug)]
pub struct PodView<'a> {
    pub spec: &'a Map<'a>,
    pub metadata: Option<&'a Map<'a>>,
    /// e.g. `spec` for a Pod, `spec.template.spec` for a Deployment.
    pub spec_path: &'a str,
    /// e.g. `metadata` for a Pod, `spec.template.metadata` for a Deployment.
    pub metadata_path: &'a str,
    /// The containers, listed once for every check.
    containers: Vec<ContainerView<'a>>,
}

/// One container (init, regular or ephemeral) and where it sits.
#[derive(Clone, Debug)]
pub struct ContainerView<'a> {
    /// e.g. `spec.template.spec`.
    spec_path: &'a str,
    /// e.g. `initContainers`.
    list: &'static str,
    index: usize,
    /// The `name` field when it is a string.
    pub name: Option<&'a str>,
    pub fields: &'a Map<'a>,
    /// The `securityContext` when it is an object: nearly every check reads it.
    security_context: Option<&'a Map<'a>>,
}

impl<'a> PodView<'a> {
    pub fn new(
        spec: &'a Map<'a>,
        metadata: Option<&'a Map<'a>>,
        spec_path: &'a str,
        metadata_path: &'a str,
    ) -> PodView<'a> {
        let mut pod = PodView {
            spec,
            metadata,
            spec_path,
            metadata_path,
            containers: Vec::new(),
        };
        pod.containers = pod.list_containers();
        pod
    }

    /// A spec field, `None` when absent or `null`.
    pub fn spec_field(&self, key: &str) -> Option<&'a Value<'a>> {
        present(self.spec.get(key))
    }

    /// The path of `relative` (e.g. `securityContext.runAsUser`) in the spec.
    pub fn spec_path_to(&self, relative: &str) -> String {
        join(self.spec_path, relative)
    }

    /// `spec.securityContext` when it is an object.
    pub fn security_context(&self) -> Option<&'a Map<'a>> {
        self.spec_field("securityContext")?.as_object()
    }

    /// A field of `spec.securityContext`, `None` when absent or `null`.
    pub fn security_context_field(&self, key: &str) -> Option<&'a Value<'a>> {
        present(self.security_context()?.get(key))
    }

    /// Every container in the order PSA's `visitContainers` visits them:
    /// initContainers, containers, then ephemeralContainers (whose common
    /// fields PSA reads as a plain container).
    pub fn containers(&self) -> &[ContainerView<'a>] {
        &self.containers
    }

    fn list_containers(&self) -> Vec<ContainerView<'a>> {
        let mut views = Vec::new();
        for list in ["initContainers", "containers", "ephemeralContainers"] {
            let Some(Value::Array(items)) = self.spec_field(list) else {
                continue;
            };
            for (index, item) in items.iter().enumerate() {
                if let Value::Object(fields) = item {
                    views.push(ContainerView {
                        spec_path: self.spec_path,
                        list,
                        index,
                        name: fields.get("name").and_then(Value::as_str),
                        fields,
                        security_context: fields.get("securityContext").and_then(Value::as_object),
                    });
                }
            }
        }
        views
    }

    /// The volumes that are objects, with their indices.
    pub fn volumes(&self) -> Vec<(usize, &'a Map<'a>)> {
        match self.spec_field("volumes") {
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(index, item)| Some((index, item.as_object()?)))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// `metadata.annotations` when it is an object.
    pub fn annotations(&self) -> Option<&'a Map<'a>> {
        self.metadata?.get("annotations")?.as_object()
    }

    /// The path of one annotation, e.g. `metadata.annotations[key]`.
    pub fn annotation_path(&self, key: &str) -> String {
        join(self.metadata_path, &format!("annotations[{key}]"))
    }

    /// `spec.os.name: windows`, the marker PSA's 1.25+ checks exempt.
    pub fn is_windows(&self) -> bool {
        self.spec_field("os")
            .and_then(|os| os.get("name"))
            .and_then(Value::as_str)
            == Some("windows")
    }

    /// `spec.hostUsers: false`: the pod runs in its own user namespace
    /// (PSA's `relaxPolicyForUserNamespacePod`). Absent or `true` is not.
    pub fn in_user_namespace(&self) -> bool {
        self.spec_field("hostUsers") == Some(&Value::Bool(false))
    }

    /// A pod-level violation of the spec field `relative`.
    pub fn violation(
        &self,
        relative: &str,
        expected: &str,
        actual: String,
        control: &'static str,
    ) -> Violation {
        Violation::pod(
            self.spec_path_to(relative),
            relative,
            expected,
            actual,
            control,
        )
    }
}

impl<'a> ContainerView<'a> {
    /// The indexed path, e.g. `spec.initContainers[0]`; built only for a
    /// violation, since most containers have none.
    pub fn path(&self) -> String {
        join(self.spec_path, &format!("{}[{}]", self.list, self.index))
    }

    /// A container field, `None` when absent or `null`.
    pub fn field(&self, key: &str) -> Option<&'a Value<'a>> {
        present(self.fields.get(key))
    }

    /// The container's `securityContext` when it is an object.
    pub fn security_context(&self) -> Option<&'a Map<'a>> {
        self.security_context
    }

    /// A field of the container's `securityContext`, `None` when absent or `null`.
    pub fn security_context_field(&self, key: &str) -> Option<&'a Value<'a>> {
        present(self.security_context()?.get(key))
    }

    /// A violation of `field` (relative to the container).
    pub fn violation(
        &self,
        field: &str,
        expected: &str,
        actual: String,
        control: &'static str,
    ) -> Violation {
        Violation::in_container(&self.path(), self.name, field, expected, actual, control)
    }
}

/// When the profile `key` (`seccompProfile` or `appArmorProfile`) is set in
/// this securityContext to anything but the two types both controls allow,
/// `RuntimeDefault` and `Localhost`: the offending field (relative to the
/// securityContext) and what it holds.
pub fn profile_problem(
    security_context: Option<&Map>,
    key: &'static str,
) -> Option<(String, String)> {
    let profile = present(security_context?.get(key))?;
    let Some(profile) = profile.as_object() else {
        return Some((key.to_owned(), wrong_type(profile, "an object")));
    };
    let actual = match present(profile.get("type")) {
        Some(Value::String(kind)) if kind == "RuntimeDefault" || kind == "Localhost" => {
            return None;
        }
        Some(Value::String(kind)) => kind.to_string(),
        Some(other) => wrong_type(other, "a string"),
        None => "unset".to_owned(),
    };
    Some((format!("{key}.type"), actual))
}

/// `value` unless it is absent or `null`.
pub fn present<'v, 'a>(value: Option<&'v Value<'a>>) -> Option<&'v Value<'a>> {
    value.filter(|value| !value.is_null())
}

/// `base.relative`, or `relative` alone when `base` is empty.
pub fn join(base: &str, relative: &str) -> String {
    if base.is_empty() {
        relative.to_owned()
    } else {
        format!("{base}.{relative}")
    }
}

/// What to show for a value of the wrong type: its JSON (shortened) and
/// what was expected, e.g. `"true" (not a boolean)`.
pub fn wrong_type(value: &Value, wanted: &str) -> String {
    const LIMIT: usize = 60;
    let mut json = value.to_string();
    if json.len() > LIMIT {
        let mut end = LIMIT;
        while !json.is_char_boundary(end) {
            end -= 1;
        }
        json.truncate(end);
        json.push('…');
    }
    format!("{json} (not {wanted})")
}

/// For a field that must not be `true` (false and unset are fine): what was
/// found when it breaks the rule.
pub fn must_not_be_true(value: Option<&Value>) -> Option<String> {
    match present(value)? {
        Value::Bool(false) => None,
        Value::Bool(true) => Some("true".to_owned()),
        other => Some(wrong_type(other, "a boolean")),
    }
}

/// A string field that must be empty or unset: what was found when it is not.
pub fn must_be_empty(value: Option<&Value>) -> Option<String> {
    match present(value)? {
        Value::String(text) if text.is_empty() => None,
        Value::String(text) => Some(text.to_string()),
        other => Some(wrong_type(other, "a string")),
    }
}

/// A list of strings shown as `[A, B]`; entries that are not strings are
/// shown as JSON.
pub fn show_list(items: &[Value]) -> String {
    let mut shown = String::from("[");
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            shown.push_str(", ");
        }
        match item {
            Value::String(text) => shown.push_str(text),
            other => {
                let _ = write!(shown, "{other}");
            }
        }
    }
    shown.push(']');
    shown
}

/// Joins names as `a, b or c` for "must be one of" texts.
pub fn one_of(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [only] => (*only).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}
