//! Runs a request through a real `kwctl run` and reads its answer, so the
//! cases can also be checked against Kubewarden's own host.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use serde_json::Value;

use crate::Answer;

/// kwctl's wording when the policy refuses the settings.
const SETTINGS_REFUSED: &str = "Provided settings are not valid: ";

/// The AdmissionResponse kwctl prints on stdout.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdmissionResponse {
    allowed: bool,
    #[serde(default)]
    patch_type: Option<String>,
    #[serde(default)]
    patch: Option<String>,
    #[serde(default)]
    status: Option<Status>,
    #[serde(default)]
    audit_annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    warnings: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct Status {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    code: Option<u16>,
}

/// Reads one AdmissionResponse line as kwctl prints it.
pub fn parse_response_line(line: &str) -> Result<Answer> {
    let response: AdmissionResponse =
        serde_json::from_str(line).with_context(|| format!("not an AdmissionResponse: {line}"))?;
    let patch = match (&response.patch_type, &response.patch) {
        (_, None) => None,
        (Some(kind), Some(_)) if kind != "JSONPatch" => {
            bail!("unexpected patchType {kind:?}")
        }
        (_, Some(encoded)) => {
            let bytes = BASE64
                .decode(encoded.trim())
                .context("the patch is not valid base64")?;
            let operations: Vec<Value> =
                serde_json::from_slice(&bytes).context("the patch is not a JSONPatch array")?;
            // The host never sends an empty patch; treat one as none anyway.
            Some(operations).filter(|ops| !ops.is_empty())
        }
    };
    let (message, code) = match response.status {
        Some(status) => (status.message, status.code),
        None => (None, None),
    };
    Ok(Answer {
        allowed: response.allowed,
        message,
        code,
        patch,
        warnings: response.warnings.unwrap_or_default(),
        audit_annotations: response.audit_annotations.unwrap_or_default(),
        ..Answer::default()
    })
}

/// Reads kwctl's output: the answer on stdout, or the refusal of the
/// settings on stderr (with a non-zero exit).
pub fn parse_output(success: bool, stdout: &str, stderr: &str) -> Result<Answer> {
    if !success {
        let stderr = strip_ansi(stderr);
        if let Some(message) = stderr
            .lines()
            .find_map(|line| line.split_once(SETTINGS_REFUSED).map(|(_, rest)| rest))
        {
            let message = message.trim_end().to_string();
            return Ok(Answer {
                allowed: false,
                message: Some(format!("{SETTINGS_REFUSED}{message}")),
                settings_error: Some(message),
                ..Answer::default()
            });
        }
        bail!("kwctl failed:\n{stderr}");
    }
    let line = stdout
        .lines()
        .rev()
        .map(str::trim)
        .find(|line| line.starts_with('{'))
        .with_context(|| format!("kwctl printed no AdmissionResponse; stdout:\n{stdout}"))?;
    parse_response_line(line)
}

/// Removes terminal colour codes (ESC [ ... letter) from kwctl's logs.
fn strip_ansi(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

/// A kwctl binary.
pub struct Kwctl {
    binary: PathBuf,
    scratch: PathBuf,
    /// Numbers the request files, so that runs may go on side by side.
    runs: AtomicUsize,
}

impl Kwctl {
    /// The kwctl named by `$KWCTL`, if any.
    pub fn from_env() -> Option<Kwctl> {
        let binary = std::env::var_os("KWCTL").filter(|v| !v.is_empty())?;
        Some(Kwctl::new(resolve_binary(PathBuf::from(binary))))
    }

    pub fn new(binary: impl Into<PathBuf>) -> Kwctl {
        let scratch = std::env::temp_dir().join(format!("e2e-kwctl-{}", std::process::id()));
        Kwctl {
            binary: binary.into(),
            scratch,
            runs: AtomicUsize::new(0),
        }
    }

    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// `kwctl run --settings-json <settings> -r <request file> <wasm>`. Safe
    /// to call from several threads at once.
    pub fn run(&self, wasm: &Path, settings: &Value, request: &Value) -> Result<Answer> {
        std::fs::create_dir_all(&self.scratch)
            .with_context(|| format!("cannot create {}", self.scratch.display()))?;
        let run = self.runs.fetch_add(1, Ordering::Relaxed);
        let request_file = self.scratch.join(format!("request-{run}.json"));
        std::fs::write(&request_file, serde_json::to_vec_pretty(request)?)?;
        let output = Command::new(&self.binary)
            .arg("run")
            .arg("--settings-json")
            .arg(settings.to_string())
            .arg("-r")
            .arg(&request_file)
            .arg(wasm)
            .output()
            .with_context(|| format!("cannot start {}", self.binary.display()));
        let _ = std::fs::remove_file(&request_file);
        let output = output?;
        parse_output(
            output.status.success(),
            &String::from_utf8_lossy(&output.stdout),
            &String::from_utf8_lossy(&output.stderr),
        )
    }
}

/// A relative path with a folder in it is taken from the current folder,
/// else from the repository's root: `make` runs the tests from `e2e-tests/`,
/// while `KWCTL=../shared/bin/kwctl make e2e-tests` names it from the root.
/// A bare name is left to the `PATH` search.
fn resolve_binary(binary: PathBuf) -> PathBuf {
    if binary.is_absolute() || binary.components().count() < 2 || binary.exists() {
        return binary;
    }
    let from_root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(&binary);
    if from_root.exists() {
        from_root
    } else {
        binary
    }
}

impl Drop for Kwctl {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// Where kwctl's answer and the native host's differ; empty when they agree.
pub fn disagreements(kwctl: &Answer, native: &Answer) -> Vec<String> {
    let mut differences = Vec::new();
    let mut compare = |field: &str, kwctl: String, native: String| {
        if kwctl != native {
            differences.push(format!(
                "{field}:\n    kwctl:  {kwctl}\n    native: {native}"
            ));
        }
    };
    compare(
        "settings_error",
        format!("{:?}", kwctl.settings_error),
        format!("{:?}", native.settings_error),
    );
    if kwctl.settings_error.is_some() || native.settings_error.is_some() {
        return differences;
    }
    compare(
        "allowed",
        kwctl.allowed.to_string(),
        native.allowed.to_string(),
    );
    compare(
        "message",
        format!("{:?}", kwctl.message),
        format!("{:?}", native.message),
    );
    compare(
        "code",
        format!("{:?}", kwctl.code),
        format!("{:?}", native.code),
    );
    let sorted = |patch: &Option<Vec<Value>>| {
        Value::from(crate::cases::sorted_operations(
            patch.as_deref().unwrap_or_default(),
        ))
        .to_string()
    };
    compare("patch", sorted(&kwctl.patch), sorted(&native.patch));
    compare(
        "warnings",
        format!("{:?}", kwctl.warnings),
        format!("{:?}", native.warnings),
    );
    compare(
        "audit_annotations",
        format!("{:?}", kwctl.audit_annotations),
        format!("{:?}", native.audit_annotations),
    );
    differences
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_a_mutation() {
        let patch = json!([{"op": "add", "path": "/spec/containers/0/securityContext",
                            "value": {"allowPrivilegeEscalation": false}}]);
        let line = format!(
            r#"{{"uid":"00000000-0000-4000-8000-00000000e2e0","allowed":true,"patchType":"JSONPatch","patch":"{}","auditAnnotations":null,"warnings":null}}"#,
            BASE64.encode(patch.to_string())
        );
        let answer = parse_response_line(&line).unwrap();
        assert!(answer.allowed);
        assert_eq!(answer.patch, Some(patch.as_array().unwrap().clone()));
        assert_eq!(answer.message, None);
        assert!(answer.warnings.is_empty());
        assert!(answer.audit_annotations.is_empty());
    }

    #[test]
    fn reads_a_rejection_with_code_and_warnings() {
        let line = r#"{"uid":"u","allowed":false,"status":{"message":"Privileged container is not allowed","code":403},"auditAnnotations":{"k":"v"},"warnings":["w"]}"#;
        let answer = parse_response_line(line).unwrap();
        assert!(!answer.allowed);
        assert_eq!(
            answer.message.as_deref(),
            Some("Privileged container is not allowed")
        );
        assert_eq!(answer.code, Some(403));
        assert_eq!(answer.patch, None);
        assert_eq!(answer.warnings, vec!["w"]);
        assert_eq!(answer.audit_annotations["k"], "v");
    }

    #[test]
    fn reads_an_acceptance_from_stdout_with_noise_before() {
        let stdout = "some banner\n{\"uid\":\"u\",\"allowed\":true,\"auditAnnotations\":null,\"warnings\":null}\n";
        let answer = parse_output(true, stdout, "").unwrap();
        assert!(answer.allowed);
        assert_eq!(answer.patch, None);
    }

    #[test]
    fn reads_refused_settings_from_coloured_stderr() {
        let stderr = "\u{1b}[2m2026-01-01T00:00:00Z\u{1b}[0m \u{1b}[31mERROR\u{1b}[0m ...\nError: Provided settings are not valid: unknown field `no_such_setting`\n";
        let answer = parse_output(false, "", stderr).unwrap();
        assert!(!answer.allowed);
        assert_eq!(
            answer.settings_error.as_deref(),
            Some("unknown field `no_such_setting`")
        );
    }

    #[test]
    fn other_failures_are_errors() {
        assert!(parse_output(false, "", "Error: cannot open file").is_err());
        assert!(parse_output(true, "", "").is_err());
        assert!(parse_response_line(r#"{"allowed":true,"patch":"%%%"}"#).is_err());
    }

    #[test]
    fn agreement_ignores_patch_order() {
        let a = json!({"op": "add", "path": "/a", "value": 1});
        let b = json!({"op": "add", "path": "/b", "value": 2});
        let kwctl = Answer {
            allowed: true,
            patch: Some(vec![a.clone(), b.clone()]),
            ..Answer::default()
        };
        let native = Answer {
            allowed: true,
            patch: Some(vec![b, a]),
            ..Answer::default()
        };
        assert!(disagreements(&kwctl, &native).is_empty());
        let rejected = Answer::default();
        assert_eq!(disagreements(&kwctl, &rejected).len(), 2);
    }
}
