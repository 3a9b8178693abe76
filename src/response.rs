//! The answer to the host: accept, accept with a mutated object, or reject;
//! and the warnings that say what was defaulted where.

use crate::defaults::Defaulted;
use serde::ser::Error as _;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The `ValidationResponse` the Kubewarden host reads: the SDK's field
/// names, absent values as `null`, as the SDK writes them.
#[derive(Debug, Default, PartialEq, Serialize)]
pub struct Response {
    pub accepted: bool,
    pub message: Option<String>,
    pub code: Option<u16>,
    /// The whole object after defaulting, as JSON text: the request's own
    /// text with the edits spliced in, written out as it is rather than
    /// parsed into a tree only to be written again.
    #[serde(serialize_with = "raw_json")]
    pub mutated_object: Option<String>,
    /// Written into the audit log of the API server (structured violations).
    #[serde(serialize_with = "map_or_null")]
    pub audit_annotations: BTreeMap<String, String>,
    #[serde(serialize_with = "list_or_null")]
    pub warnings: Vec<String>,
}

impl Response {
    pub fn accept() -> Response {
        Response {
            accepted: true,
            ..Response::default()
        }
    }

    pub fn reject(message: String) -> Response {
        Response {
            accepted: false,
            message: Some(message),
            ..Response::default()
        }
    }

    /// The answer as JSON. A mutated object that is not JSON (a defect in
    /// the edits) is refused rather than handed to the host.
    pub fn to_json(&self) -> Vec<u8> {
        // Room for the object up front, rather than growing through it.
        let object_bytes = self.mutated_object.as_ref().map_or(0, String::len);
        let mut answer = Vec::with_capacity(object_bytes + 512);
        serde_json::to_writer(&mut answer, self)
            .map(|()| answer)
            .unwrap_or_else(|reason| {
                let refusal = Response::reject(format!(
                    "the policy could not write the defaulted object: {reason}"
                ));
                serde_json::to_vec(&refusal).unwrap_or_default()
            })
    }
}

/// JSON text written as it is; checked to be one JSON value on the way, so
/// the answer stays JSON. Read as bytes, like the payload and the settings,
/// so the module carries one copy of serde_json's reader.
fn raw_json<S: Serializer>(text: &Option<String>, serializer: S) -> Result<S::Ok, S::Error> {
    match text {
        Some(text) => serde_json::from_slice::<&RawValue>(text.as_bytes())
            .map_err(S::Error::custom)?
            .serialize(serializer),
        None => serializer.serialize_none(),
    }
}

fn map_or_null<S: Serializer>(
    map: &BTreeMap<String, String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    if map.is_empty() {
        serializer.serialize_none()
    } else {
        map.serialize(serializer)
    }
}

fn list_or_null<S: Serializer>(list: &[String], serializer: S) -> Result<S::Ok, S::Error> {
    if list.is_empty() {
        serializer.serialize_none()
    } else {
        list.serialize(serializer)
    }
}

/// What the policy did to, or found in, one securityContext.
#[derive(Debug, PartialEq)]
pub struct Report {
    /// `spec.template.spec.containers[0]`, or `spec.securityContext` for the
    /// pod level.
    pub path: String,
    /// The container's name; `None` for the pod level.
    pub container: Option<String>,
    pub defaulted: Vec<Defaulted>,
    /// Insecure values the user set and defaulting kept.
    pub insecure: Vec<String>,
    /// Other lines about it, each a warning of its own: a default left
    /// unwritten because the container would not start with it, a port it
    /// will not be able to bind.
    pub notes: Vec<String>,
}

/// The API server truncates a warning over 256 characters; about 120 keeps a
/// warning on one line of a terminal (the common 3-field line of a Pod is 121).
const SHORT_WARNING: usize = 128;
pub(crate) const MAX_WARNING: usize = 250;
/// The API server may drop warnings past a total size: past this many
/// lines the rest is summarised in one.
pub(crate) const MAX_WARNINGS: usize = 8;

/// The kinds of line a report gives, in the order they are shown.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Line {
    Defaulted,
    Insecure,
    /// The note of this index.
    Note(usize),
}

impl Report {
    fn lines(&self) -> impl Iterator<Item = Line> + '_ {
        let defaulted = (!self.defaulted.is_empty()).then_some(Line::Defaulted);
        let insecure = (!self.insecure.is_empty()).then_some(Line::Insecure);
        defaulted
            .into_iter()
            .chain(insecure)
            .chain((0..self.notes.len()).map(Line::Note))
    }
}

/// The warnings for a set of reports: one line per defaulted securityContext,
/// one per container left insecure and one per note, at most `MAX_WARNINGS`
/// lines.
pub fn warnings(reports: &[Report]) -> Vec<String> {
    let total = reports
        .iter()
        .map(|report| report.lines().count())
        .sum::<usize>();
    let shown = if total <= MAX_WARNINGS {
        total
    } else {
        MAX_WARNINGS - 1
    };
    // The lines in order: what a report defaulted, what it leaves insecure,
    // its notes. Only the lines shown are written out; the rest are counted.
    let mut kept = Vec::with_capacity(shown + 1);
    let mut defaulted_not_shown = 0;
    let mut notes_not_shown = 0;
    for report in reports {
        for line in report.lines() {
            if kept.len() < shown {
                kept.push(warning(report, line));
            } else if line == Line::Defaulted {
                defaulted_not_shown += 1;
            } else if line != Line::Insecure {
                notes_not_shown += 1;
            }
        }
    }
    if total > shown {
        let mut summary = format!(
            "and {} more: {} defaulted, {} left insecure",
            total - shown,
            count(defaulted_not_shown, "securityContext"),
            count(
                total - shown - defaulted_not_shown - notes_not_shown,
                "container"
            ),
        );
        if notes_not_shown > 0 {
            let _ = write!(summary, ", {}", count(notes_not_shown, "other warning"));
        }
        kept.push(summary);
    }
    kept
}

/// One line of a report: what was defaulted in one securityContext, what it
/// leaves insecure, or one of its notes.
fn warning(report: &Report, line: Line) -> String {
    let mut subject = report.path.clone();
    if let Some(name) = report.container.as_deref().filter(|name| !name.is_empty()) {
        subject.push_str(" \"");
        subject.push_str(&shorten(name, 63));
        subject.push('"');
    }
    match line {
        Line::Defaulted => defaulted_line(&subject, &report.defaulted),
        Line::Insecure => {
            let mut line = subject;
            line.push_str(": left insecure: ");
            for (index, finding) in report.insecure.iter().enumerate() {
                if index > 0 {
                    line.push_str(", ");
                }
                line.push_str(finding);
            }
            shorten(&line, MAX_WARNING)
        }
        Line::Note(index) => {
            let mut line = subject;
            line.push_str(": ");
            line.push_str(&report.notes[index]);
            shorten(&line, MAX_WARNING)
        }
    }
}

/// `3 containers`, `1 container`.
fn count(number: usize, noun: &str) -> String {
    let plural = if number == 1 { "" } else { "s" };
    format!("{number} {noun}{plural}")
}

/// `subject: defaulted field=value, ...`, or with the field names alone when
/// that is too long (the values are the level's, documented in the README).
fn defaulted_line(subject: &str, defaulted: &[Defaulted]) -> String {
    let mut line = String::with_capacity(SHORT_WARNING + 32);
    line.push_str(subject);
    line.push_str(": defaulted ");
    for (index, field) in defaulted.iter().enumerate() {
        if index > 0 {
            line.push_str(", ");
        }
        let described = field.describe();
        match described.fixed() {
            Some(text) => line.push_str(text),
            None => {
                let _ = write!(line, "{described}");
            }
        }
    }
    if line.chars().count() <= SHORT_WARNING {
        return line;
    }
    line.truncate(subject.len());
    line.push_str(": defaulted ");
    let mut fields: Vec<&str> = Vec::new();
    for field in defaulted {
        // capabilities.add only ever comes with capabilities.drop: one name.
        if !fields.contains(&field.field()) && *field != Defaulted::CapabilitiesAddNetBindService {
            fields.push(field.field());
        }
    }
    line.push_str(&fields.join(", "));
    shorten(&line, MAX_WARNING)
}

/// `text` cut to at most `limit` characters, marked with "…" when cut.
pub(crate) fn shorten(text: &str, limit: usize) -> String {
    if text.len() <= limit || text.chars().count() <= limit {
        return text.to_string();
    }
    // The byte offset where the `limit`th character starts: all before it
    // is kept, with "…" as the last character.
    let end = text
        .char_indices()
        .nth(limit - 1)
        .map_or(text.len(), |(offset, _)| offset);
    let mut cut = String::with_capacity(end + '…'.len_utf8());
    cut.push_str(&text[..end]);
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use Defaulted::*;
    use kubewarden_policy_sdk::response::ValidationResponse;
    use serde_json::{Value, json};

    fn report(path: &str, name: &str, defaulted: Vec<Defaulted>, insecure: Vec<&str>) -> Report {
        Report {
            path: path.to_string(),
            container: Some(name.to_string()),
            defaulted,
            insecure: insecure.into_iter().map(String::from).collect(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn a_response_is_the_sdk_shape() {
        let response = Response {
            accepted: true,
            mutated_object: Some(r#"{"kind":"Pod"}"#.to_string()),
            warnings: vec!["a \"quoted\" warning".to_string()],
            ..Response::default()
        };
        let value: Value = serde_json::from_slice(&response.to_json()).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"accepted": true, "message": null, "code": null,
                "mutated_object": {"kind": "Pod"}, "audit_annotations": null,
                "warnings": ["a \"quoted\" warning"]})
        );
        let rejected: Value =
            serde_json::from_slice(&Response::reject("no \"way\"".into()).to_json()).unwrap();
        assert_eq!(rejected["accepted"], false);
        assert_eq!(rejected["message"], "no \"way\"");
        assert_eq!(rejected["warnings"], Value::Null);
    }

    /// The host reads the answer with the SDK's own type.
    fn as_the_sdk_reads_it(response: &Response) -> ValidationResponse {
        serde_json::from_slice(&response.to_json()).expect("the SDK reads the answer")
    }

    #[test]
    fn the_sdk_reads_every_answer() {
        let accepted = as_the_sdk_reads_it(&Response::accept());
        assert!(accepted.accepted);
        assert!(accepted.message.is_none() && accepted.code.is_none());
        assert!(accepted.mutated_object.is_none());
        assert!(accepted.audit_annotations.is_none() && accepted.warnings.is_none());

        let rejected = as_the_sdk_reads_it(&Response::reject(
            "1 violation of PodSecurity \"restricted:latest\":\n- spec.hostNetwork must be \
             false (is true)"
                .to_string(),
        ));
        assert!(!rejected.accepted);
        assert_eq!(
            rejected.message.as_deref(),
            Some(
                "1 violation of PodSecurity \"restricted:latest\":\n- spec.hostNetwork must be \
                 false (is true)"
            )
        );

        let pod = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
            "spec": {"containers": [{"name": "web", "image": "registry.example.com/shop/web:3.0",
            "securityContext": {"allowPrivilegeEscalation": false}}]}}"#;
        let mutated = as_the_sdk_reads_it(&Response {
            accepted: true,
            mutated_object: Some(pod.to_string()),
            audit_annotations: BTreeMap::from([(
                "secure-pod-defaults/violations".to_string(),
                r#"[{"actual":"true"}]"#.to_string(),
            )]),
            warnings: vec![
                "spec.containers[0] \"web\": defaulted allowPrivilegeEscalation=false".to_string(),
            ],
            ..Response::default()
        });
        assert!(mutated.accepted);
        assert_eq!(
            mutated.mutated_object,
            Some(serde_json::from_str::<Value>(pod).unwrap())
        );
        assert_eq!(
            mutated.audit_annotations.unwrap()["secure-pod-defaults/violations"],
            r#"[{"actual":"true"}]"#
        );
        assert_eq!(
            mutated.warnings.unwrap(),
            ["spec.containers[0] \"web\": defaulted allowPrivilegeEscalation=false"]
        );
    }

    #[test]
    fn the_mutated_object_is_written_as_it_came() {
        let object = r#"{"kind":"Pod","spec":{"x":1.50,"y":1e2,"z":"\u00e9"}}"#;
        let response = Response {
            accepted: true,
            mutated_object: Some(object.to_string()),
            ..Response::default()
        };
        let answer = String::from_utf8(response.to_json()).unwrap();
        assert!(
            answer.contains(&format!(r#""mutated_object":{object},"#)),
            "{answer}"
        );
    }

    #[test]
    fn an_object_that_is_not_json_is_refused() {
        let response = Response {
            accepted: true,
            mutated_object: Some(r#"{"kind":"Pod""#.to_string()),
            ..Response::default()
        };
        let answer: Value = serde_json::from_slice(&response.to_json()).unwrap();
        assert_eq!(answer["accepted"], false);
        assert_eq!(answer["mutated_object"], Value::Null);
        assert!(
            answer["message"]
                .as_str()
                .unwrap()
                .starts_with("the policy could not write the defaulted object: ")
        );
        assert_eq!(
            answer,
            json!({"accepted": false, "message": answer["message"],
            "code": null, "mutated_object": null, "audit_annotations": null, "warnings": null})
        );
    }

    #[test]
    fn a_short_warning_keeps_the_values() {
        let lines = warnings(&[report(
            "spec.containers[0]",
            "app",
            vec![AllowPrivilegeEscalation, SeccompProfile, CapabilitiesDrop],
            vec![],
        )]);
        assert_eq!(
            lines,
            vec![
                "spec.containers[0] \"app\": defaulted allowPrivilegeEscalation=false, \
                 seccompProfile=RuntimeDefault, capabilities.drop=[ALL]"
            ]
        );
    }

    #[test]
    fn a_long_warning_keeps_the_field_names() {
        let lines = warnings(&[report(
            "spec.template.spec.containers[0]",
            "app",
            vec![
                AllowPrivilegeEscalation,
                SeccompProfile,
                CapabilitiesDrop,
                CapabilitiesAddNetBindService,
                RunAsNonRoot,
            ],
            vec![],
        )]);
        assert_eq!(
            lines,
            vec![
                "spec.template.spec.containers[0] \"app\": defaulted allowPrivilegeEscalation, \
                 seccompProfile, capabilities, runAsNonRoot"
            ]
        );
        assert!(lines[0].len() <= SHORT_WARNING);
    }

    #[test]
    fn many_containers_are_summarised() {
        let reports: Vec<Report> = (0..12)
            .map(|index| {
                report(
                    &format!("spec.containers[{index}]"),
                    "c",
                    vec![AllowPrivilegeEscalation],
                    if index == 11 {
                        vec!["privileged=true"]
                    } else {
                        vec![]
                    },
                )
            })
            .collect();
        let lines = warnings(&reports);
        assert_eq!(lines.len(), MAX_WARNINGS);
        assert_eq!(
            lines[MAX_WARNINGS - 1],
            "and 6 more: 5 securityContexts defaulted, 1 container left insecure"
        );
    }

    #[test]
    fn the_pod_level_has_no_name() {
        let lines = warnings(&[Report {
            path: "spec.securityContext".to_string(),
            container: None,
            defaulted: vec![
                RunAsUser(65534),
                RunAsGroup(65534),
                UnprivilegedPortStart(80),
            ],
            insecure: vec![],
            notes: vec![],
        }]);
        assert_eq!(
            lines,
            vec![
                "spec.securityContext: defaulted runAsUser=65534, runAsGroup=65534, \
                 sysctl net.ipv4.ip_unprivileged_port_start=80"
            ]
        );
    }

    #[test]
    fn notes_are_lines_of_their_own_and_counted_when_cut() {
        let mut noted = report("spec.containers[0]", "web", vec![RunAsNonRoot], vec![]);
        noted.notes = vec!["a note".into(), "another".into()];
        assert_eq!(
            warnings(&[noted]),
            vec![
                "spec.containers[0] \"web\": defaulted runAsNonRoot=true",
                "spec.containers[0] \"web\": a note",
                "spec.containers[0] \"web\": another",
            ]
        );
        let reports: Vec<Report> = (0..4)
            .map(|index| {
                let mut report = report(
                    &format!("spec.containers[{index}]"),
                    "c",
                    vec![AllowPrivilegeEscalation],
                    vec!["privileged=true"],
                );
                report.notes = vec!["runAsNonRoot not defaulted".into()];
                report
            })
            .collect();
        let lines = warnings(&reports);
        assert_eq!(lines.len(), MAX_WARNINGS);
        assert_eq!(
            lines[MAX_WARNINGS - 1],
            "and 5 more: 1 securityContext defaulted, 2 containers left insecure, 2 other warnings"
        );
    }
}
