//! The answer to the host: accept, accept with a mutated object, or reject;
//! and the warnings that say what was defaulted where.
//!
//! The JSON is written by hand because the mutated object is already JSON
//! text (the request's own text with the edits spliced in): parsing it into a
//! tree only to write it out again would double the cost of a mutation.

use crate::defaults::Defaulted;
use crate::json::write_string;
use std::fmt::Write;

#[derive(Debug, Default, PartialEq)]
pub struct Response {
    pub accepted: bool,
    pub message: Option<String>,
    pub code: Option<u16>,
    /// The whole object after defaulting, as JSON text.
    pub mutated_object: Option<String>,
    /// Written into the audit log of the API server (structured violations).
    pub audit_annotations: Vec<(String, String)>,
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

    /// The `ValidationResponse` the Kubewarden host reads (snake_case keys,
    /// absent values as `null`, as the SDK writes them).
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = String::with_capacity(
            128 + self.mutated_object.as_ref().map_or(0, String::len)
                + self.warnings.iter().map(|w| w.len() + 3).sum::<usize>(),
        );
        out.push_str("{\"accepted\":");
        out.push_str(if self.accepted { "true" } else { "false" });
        out.push_str(",\"message\":");
        match &self.message {
            Some(message) => write_string(&mut out, message),
            None => out.push_str("null"),
        }
        out.push_str(",\"code\":");
        match self.code {
            Some(code) => {
                let _ = write!(out, "{code}");
            }
            None => out.push_str("null"),
        }
        out.push_str(",\"mutated_object\":");
        out.push_str(self.mutated_object.as_deref().unwrap_or("null"));
        out.push_str(",\"audit_annotations\":");
        if self.audit_annotations.is_empty() {
            out.push_str("null");
        } else {
            out.push('{');
            for (index, (key, value)) in self.audit_annotations.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_string(&mut out, key);
                out.push(':');
                write_string(&mut out, value);
            }
            out.push('}');
        }
        out.push_str(",\"warnings\":");
        if self.warnings.is_empty() {
            out.push_str("null");
        } else {
            out.push('[');
            for (index, warning) in self.warnings.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_string(&mut out, warning);
            }
            out.push(']');
        }
        out.push('}');
        out.into_bytes()
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
}

/// The API server truncates a warning over 256 characters; about 120 keeps a
/// warning on one line of a terminal (the common 3-field line of a Pod is 121).
const SHORT_WARNING: usize = 128;
const MAX_WARNING: usize = 250;
/// The API server may drop warnings past a total size: past this many
/// lines the rest is summarised in one.
const MAX_WARNINGS: usize = 8;

/// The warnings for a set of reports: one line per defaulted securityContext
/// and one per container left insecure, at most `MAX_WARNINGS` lines.
pub fn warnings(reports: &[Report]) -> Vec<String> {
    let total = reports
        .iter()
        .map(|report| {
            usize::from(!report.defaulted.is_empty()) + usize::from(!report.insecure.is_empty())
        })
        .sum::<usize>();
    let shown = if total <= MAX_WARNINGS {
        total
    } else {
        MAX_WARNINGS - 1
    };
    // The lines in order: what a report defaulted, then what it leaves
    // insecure. Only the lines shown are written out; the rest are counted.
    let mut kept = Vec::with_capacity(shown + 1);
    let mut defaulted_not_shown = 0;
    for report in reports {
        let lines = [
            (true, !report.defaulted.is_empty()),
            (false, !report.insecure.is_empty()),
        ];
        for (is_default, present) in lines {
            if !present {
                continue;
            }
            if kept.len() < shown {
                kept.push(warning(report, is_default));
            } else if is_default {
                defaulted_not_shown += 1;
            }
        }
    }
    if total > shown {
        kept.push(format!(
            "and {} more: {} defaulted, {} left insecure",
            total - shown,
            count(defaulted_not_shown, "securityContext"),
            count(total - shown - defaulted_not_shown, "container"),
        ));
    }
    kept
}

/// The line for what was defaulted in one securityContext, or for what it
/// leaves insecure.
fn warning(report: &Report, is_default: bool) -> String {
    let mut subject = report.path.clone();
    if let Some(name) = report.container.as_deref().filter(|name| !name.is_empty()) {
        subject.push_str(" \"");
        subject.push_str(&shorten(name, 63));
        subject.push('"');
    }
    if is_default {
        defaulted_line(&subject, &report.defaulted)
    } else {
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
fn shorten(text: &str, limit: usize) -> String {
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
    use serde_json::Value;

    fn report(path: &str, name: &str, defaulted: Vec<Defaulted>, insecure: Vec<&str>) -> Report {
        Report {
            path: path.to_string(),
            container: Some(name.to_string()),
            defaulted,
            insecure: insecure.into_iter().map(String::from).collect(),
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
            defaulted: vec![RunAsUser(65534), RunAsGroup(65534)],
            insecure: vec![],
        }]);
        assert_eq!(
            lines,
            vec!["spec.securityContext: defaulted runAsUser=65534, runAsGroup=65534"]
        );
    }
}
