//! One broken rule in a pod spec, and how a list of them is shown to a
//! person (one message) and to tools (JSON, audit annotations).
//!
//! A violation names the exact field (`path`, indexed like
//! `spec.template.spec.containers[1].securityContext.allowPrivilegeEscalation`),
//! the container it belongs to, what the rule expects and what was found, so
//! a rejection can be acted on without reading the policy's source.

use serde::Serialize;
use std::cmp::Ordering;
use std::fmt::{self, Write};

/// The audit annotation key under which [`audit_annotations`] puts the list.
pub const AUDIT_ANNOTATION_KEY: &str = "secure-pod-defaults/violations";

/// The audit annotation key for the violations at a namespace's audit level
/// (`pod-security.kubernetes.io/audit`), whatever the verdict.
pub const AUDIT_LEVEL_ANNOTATION_KEY: &str = "secure-pod-defaults/audit-violations";

/// A field whose value breaks a rule.
///
/// The fields are in alphabetical order: tools read them as JSON keys in
/// that order (see [`to_json`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Violation {
    /// What was found, e.g. `true` or `unset`.
    pub actual: String,
    /// The container's name when the field belongs to one container.
    pub container: Option<String>,
    /// The rule's name as people know it, e.g. `Privilege Escalation` (a
    /// Pod Security Standards control) or `Fixed Identity`.
    pub control: &'static str,
    /// What the rule accepts, worded to follow "must be", e.g. `false`.
    pub expected: String,
    /// The field relative to the container (or to the pod spec / metadata
    /// when there is no container), e.g. `securityContext.allowPrivilegeEscalation`.
    /// For container violations `path` ends with `.{field}`.
    pub field: String,
    /// Indexed path of the offending field in the admitted object, e.g.
    /// `spec.containers[1].securityContext.allowPrivilegeEscalation` or
    /// `metadata.annotations[container.apparmor.security.beta.kubernetes.io/web]`.
    pub path: String,
}

impl Violation {
    /// A violation of a pod-level field (no container).
    pub fn pod(
        path: String,
        field: &str,
        expected: &str,
        actual: String,
        control: &'static str,
    ) -> Violation {
        Violation {
            path,
            container: None,
            field: field.to_owned(),
            expected: expected.to_owned(),
            actual,
            control,
        }
    }

    /// A violation of `field` inside the container at `container_path`
    /// (e.g. `spec.containers[1]`); the full path is `container_path.field`.
    pub fn in_container(
        container_path: &str,
        container: Option<&str>,
        field: &str,
        expected: &str,
        actual: String,
        control: &'static str,
    ) -> Violation {
        Violation {
            path: format!("{container_path}.{field}"),
            container: container.map(str::to_owned),
            field: field.to_owned(),
            expected: expected.to_owned(),
            actual,
            control,
        }
    }

    /// The path of the container this violation is in (`path` without the
    /// trailing `.field`), when it is a container violation.
    pub fn container_path(&self) -> Option<&str> {
        self.container.as_ref()?;
        self.path
            .strip_suffix(self.field.as_str())?
            .strip_suffix('.')
    }
}

/// `spec.containers[1] "sidecar": securityContext.allowPrivilegeEscalation must be false (is true)`,
/// or `spec.hostNetwork must be false (is true)` when no container is involved.
impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.container_path(), &self.container) {
            (Some(prefix), Some(name)) => write!(
                f,
                "{prefix} {}: {} must be {} (is {})",
                quote(name),
                self.field,
                self.expected,
                self.actual
            ),
            _ => write!(
                f,
                "{} must be {} (is {})",
                self.path, self.expected, self.actual
            ),
        }
    }
}

/// Sorted by path (indices compared as numbers, so `containers[2]` comes
/// before `containers[10]`), then field, then the rest.
impl Ord for Violation {
    fn cmp(&self, other: &Self) -> Ordering {
        natural_cmp(&self.path, &other.path)
            // Paths that differ only in leading zeros (`web01`, `web1`) are
            // still two paths: equal here means equal.
            .then_with(|| self.path.cmp(&other.path))
            .then_with(|| self.field.cmp(&other.field))
            .then_with(|| self.control.cmp(other.control))
            .then_with(|| self.expected.cmp(&other.expected))
            .then_with(|| self.actual.cmp(&other.actual))
            .then_with(|| self.container.cmp(&other.container))
    }
}

impl PartialOrd for Violation {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Sorts and removes duplicates, the order every list is shown in. Two
/// violations in the same place are the same violation, so the order of
/// equals does not matter and the unstable sort does.
pub fn sort_and_dedup(violations: &mut Vec<Violation>) {
    violations.sort_unstable();
    violations.dedup();
}

/// One message a person can act on: a summary line naming the rule set
/// (e.g. `PodSecurity "restricted:v1.37"`), then one violation per line.
///
/// ```text
/// 2 violations of PodSecurity "restricted:latest":
/// - spec.containers[0] "app": securityContext.allowPrivilegeEscalation must be false (is true)
/// - spec.hostNetwork must be false (is true)
/// ```
pub fn render_message(rules: &str, violations: &[Violation]) -> String {
    let mut message = summary(rules, violations.len());
    for violation in violations {
        let _ = write!(message, "\n- {violation}");
    }
    message
}

/// The same as [`render_message`] on one line, violations joined with "; ",
/// for places that show a single line (logs, events).
pub fn render_one_line(rules: &str, violations: &[Violation]) -> String {
    let items: Vec<String> = violations.iter().map(Violation::to_string).collect();
    format!("{} {}", summary(rules, violations.len()), items.join("; "))
}

fn summary(rules: &str, count: usize) -> String {
    let noun = if count == 1 {
        "violation"
    } else {
        "violations"
    };
    format!("{count} {noun} of {rules}:")
}

/// The list as JSON for tools: an array of objects with the keys `actual`,
/// `container` (null at pod level), `control`, `expected`, `field` and
/// `path`, in that order.
pub fn to_json(violations: &[Violation]) -> String {
    serde_json::to_string(violations).expect("strings are always written as JSON")
}

/// The list as Kubewarden `audit_annotations`: one key,
/// [`AUDIT_ANNOTATION_KEY`], whose value is the JSON array of [`to_json`].
/// Empty when there is nothing to report.
pub fn audit_annotations(violations: &[Violation]) -> Vec<(String, String)> {
    if violations.is_empty() {
        return Vec::new();
    }
    vec![(AUDIT_ANNOTATION_KEY.to_owned(), to_json(violations))]
}

/// The list as warnings of an admitted object, for a namespace's warn level:
/// one line per violation, `would violate {rules}: {violation}`, as Pod
/// Security Admission words its warning. Past
/// [`crate::response::MAX_WARNINGS`] lines the rest is counted in the last.
pub fn render_warnings(rules: &str, violations: &[Violation]) -> Vec<String> {
    use crate::response::{MAX_WARNING, MAX_WARNINGS, shorten};
    let shown = if violations.len() <= MAX_WARNINGS {
        violations.len()
    } else {
        MAX_WARNINGS - 1
    };
    let mut lines = Vec::with_capacity(shown + 1);
    for violation in &violations[..shown] {
        lines.push(shorten(
            &format!("would violate {rules}: {violation}"),
            MAX_WARNING,
        ));
    }
    if shown < violations.len() {
        let more = violations.len() - shown;
        let noun = if more == 1 { "violation" } else { "violations" };
        lines.push(format!("and {more} more {noun} of {rules}"));
    }
    lines
}

/// A container name in double quotes, escaped as JSON so that a name with
/// quotes or newlines cannot break the message apart.
fn quote(name: &str) -> String {
    serde_json::to_string(name).expect("strings are always written as JSON")
}

/// Compares two paths, taking runs of digits as numbers.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let (na, rest_a) = split_digits(a);
                let (nb, rest_b) = split_digits(b);
                let order = compare_numbers(na, nb);
                if order != Ordering::Equal {
                    return order;
                }
                (a, b) = (rest_a, rest_b);
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                (a, b) = (&a[1..], &b[1..]);
            }
        }
    }
}

fn split_digits(s: &[u8]) -> (&[u8], &[u8]) {
    let end = s
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(s.len());
    s.split_at(end)
}

/// Compares two runs of ASCII digits of any length as numbers.
fn compare_numbers(a: &[u8], b: &[u8]) -> Ordering {
    let trim = |s: &[u8]| -> usize { s.iter().position(|&c| c != b'0').unwrap_or(s.len()) };
    let (a, b) = (&a[trim(a)..], &b[trim(b)..]);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ape(index: usize, name: &str, actual: &str) -> Violation {
        Violation::in_container(
            &format!("spec.template.spec.containers[{index}]"),
            Some(name),
            "securityContext.allowPrivilegeEscalation",
            "false",
            actual.to_owned(),
            "Privilege Escalation",
        )
    }

    #[test]
    fn container_violation_renders_with_prefix_and_quoted_name() {
        let violation = ape(1, "sidecar", "true");
        assert_eq!(
            violation.path,
            "spec.template.spec.containers[1].securityContext.allowPrivilegeEscalation"
        );
        assert_eq!(
            violation.to_string(),
            "spec.template.spec.containers[1] \"sidecar\": securityContext.allowPrivilegeEscalation must be false (is true)"
        );
    }

    #[test]
    fn pod_violation_renders_its_path() {
        let violation = Violation::pod(
            "spec.hostPID".to_owned(),
            "hostPID",
            "false",
            "true".to_owned(),
            "Host Namespaces",
        );
        assert_eq!(
            violation.to_string(),
            "spec.hostPID must be false (is true)"
        );
    }

    #[test]
    fn a_hostile_container_name_stays_on_one_line() {
        let violation = ape(0, "a\"b\nc", "unset");
        let text = violation.to_string();
        assert!(!text.contains('\n'), "{text}");
        assert!(text.contains(r#""a\"b\nc""#), "{text}");
    }

    #[test]
    fn sorting_compares_indices_as_numbers_then_fields() {
        let mut list = vec![
            ape(10, "j", "true"),
            ape(2, "c", "unset"),
            Violation::in_container(
                "spec.template.spec.containers[2]",
                Some("c"),
                "securityContext.privileged",
                "false",
                "true".to_owned(),
                "Privileged Containers",
            ),
            ape(2, "c", "unset"),
        ];
        sort_and_dedup(&mut list);
        let paths: Vec<&str> = list.iter().map(|v| v.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.template.spec.containers[2].securityContext.allowPrivilegeEscalation",
                "spec.template.spec.containers[2].securityContext.privileged",
                "spec.template.spec.containers[10].securityContext.allowPrivilegeEscalation",
            ]
        );

        // Names that differ only in leading zeros are two places, in the
        // same order whichever comes first.
        let sysctl = |name: &str| {
            let path = format!("spec.securityContext.sysctls[{name}]");
            Violation::pod(
                path,
                "sysctls",
                "allowed",
                "forbidden".to_owned(),
                "Sysctls",
            )
        };
        for mut list in [
            vec![sysctl("net.a01"), sysctl("net.a1"), sysctl("net.a01")],
            vec![sysctl("net.a1"), sysctl("net.a01"), sysctl("net.a1")],
        ] {
            sort_and_dedup(&mut list);
            assert_eq!(list, [sysctl("net.a01"), sysctl("net.a1")]);
        }
    }

    #[test]
    fn message_has_a_summary_then_one_line_each() {
        let list = vec![ape(0, "app", "true"), ape(1, "sidecar", "unset")];
        let message = render_message("PodSecurity \"restricted:v1.37\"", &list);
        assert_eq!(
            message,
            "2 violations of PodSecurity \"restricted:v1.37\":\n\
             - spec.template.spec.containers[0] \"app\": securityContext.allowPrivilegeEscalation must be false (is true)\n\
             - spec.template.spec.containers[1] \"sidecar\": securityContext.allowPrivilegeEscalation must be false (is unset)"
        );
        let line = render_one_line("PodSecurity \"baseline:latest\"", &list[..1]);
        assert_eq!(
            line,
            "1 violation of PodSecurity \"baseline:latest\": spec.template.spec.containers[0] \"app\": securityContext.allowPrivilegeEscalation must be false (is true)"
        );
    }

    #[test]
    fn warnings_name_the_level_once_per_violation_and_count_the_rest() {
        let rules = "PodSecurity \"restricted:latest\"";
        assert!(render_warnings(rules, &[]).is_empty());
        let eight: Vec<Violation> = (0..8).map(|index| ape(index, "app", "true")).collect();
        let lines = render_warnings(rules, &eight);
        assert_eq!(lines.len(), 8);
        assert_eq!(
            lines[0],
            "would violate PodSecurity \"restricted:latest\": spec.template.spec.containers[0] \
             \"app\": securityContext.allowPrivilegeEscalation must be false (is true)"
        );
        let nine: Vec<Violation> = (0..9).map(|index| ape(index, "app", "true")).collect();
        let lines = render_warnings(rules, &nine);
        assert_eq!(lines.len(), 8);
        assert!(lines[6].contains("containers[6]"), "{}", lines[6]);
        assert_eq!(
            lines[7],
            "and 2 more violations of PodSecurity \"restricted:latest\""
        );
        // The API server keeps 256 characters of a warning.
        let long = ape(0, &"x".repeat(300), "true");
        let line = &render_warnings(rules, &[long])[0];
        assert_eq!(line.chars().count(), crate::response::MAX_WARNING);
        assert!(line.ends_with('…'));
    }

    #[test]
    fn structured_forms_carry_every_field() {
        let list = vec![
            ape(0, "app", "true"),
            Violation::pod(
                "spec.hostIPC".to_owned(),
                "hostIPC",
                "false",
                "true".to_owned(),
                "Host Namespaces",
            ),
        ];
        let json: serde_json::Value = serde_json::from_str(&to_json(&list)).unwrap();
        assert_eq!(to_json(&list), json.to_string());
        assert_eq!(json[0]["container"], "app");
        assert_eq!(json[0]["control"], "Privilege Escalation");
        assert_eq!(json[1]["container"], serde_json::Value::Null);
        assert_eq!(json[1]["path"], "spec.hostIPC");
        let annotations = audit_annotations(&list);
        assert_eq!(
            annotations,
            [(AUDIT_ANNOTATION_KEY.to_owned(), to_json(&list))]
        );
        assert!(audit_annotations(&[]).is_empty());
    }
}
