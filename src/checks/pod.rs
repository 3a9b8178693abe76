//! What every check shares: violations at the pod's and the containers'
//! paths, and the few ways of showing a value.
//!
//! The checks read the typed pod of [`crate::podspec`] as Pod Security
//! Admission reads a decoded `corev1.PodSpec`: a field that is absent or
//! `null` is `None`, and a value of the wrong type never reaches a check
//! (the request is refused with its path when it is read).

use crate::podspec::{Container, Pod};
use crate::violation::Violation;
use std::ops::Bound;

impl Pod<'_> {
    /// The path of `relative` (e.g. `securityContext.runAsUser`) in the spec.
    pub fn spec_path_to(&self, relative: &str) -> String {
        join(&self.spec_path, relative)
    }

    /// The path of one annotation, e.g. `metadata.annotations[key]`.
    pub fn annotation_path(&self, key: &str) -> String {
        join(&self.metadata_path, &format!("annotations[{key}]"))
    }

    /// The annotations whose key starts with `prefix`, in key order. The
    /// map is sorted, so the others are not visited: a pod may carry
    /// thousands of annotations.
    pub fn annotations_with_prefix<'p>(
        &'p self,
        prefix: &'p str,
    ) -> impl Iterator<Item = (&'p String, &'p String)> {
        self.annotations
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(move |(key, _)| key.starts_with(prefix))
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

impl Container<'_> {
    /// A violation of `field` (relative to the container).
    pub fn violation(
        &self,
        field: &str,
        expected: &str,
        actual: String,
        control: &'static str,
    ) -> Violation {
        let name = self.fields.name.as_deref();
        Violation::in_container(&self.path(), name, field, expected, actual, control)
    }
}

/// When a profile type (`seccompProfile.type` or `appArmorProfile.type`) is
/// set to anything but the two types both controls allow, `RuntimeDefault`
/// and `Localhost`: what it holds.
pub fn profile_problem(profile_type: Option<&str>) -> Option<String> {
    match profile_type? {
        "RuntimeDefault" | "Localhost" => None,
        // `type` is required; a profile without one reads as "".
        "" => Some("unset".to_owned()),
        other => Some(other.to_owned()),
    }
}

/// A text quoted as a JSON string, as messages show names and annotation
/// values.
pub fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

/// `base.relative`, or `relative` alone when `base` is empty.
pub fn join(base: &str, relative: &str) -> String {
    if base.is_empty() {
        relative.to_owned()
    } else {
        format!("{base}.{relative}")
    }
}

/// A list of strings shown as `[A, B]`.
pub fn show_list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

/// Joins names as `a, b or c` for "must be one of" texts.
pub fn one_of(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [only] => (*only).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}
