//! Runs a request through a real `kwctl run` and reads its answer, so the
//! cases can also be checked against Kubewarden's own host.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{Answer, Cluster};

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

/// kwctl's log line when a replayed file of interactions has exchanges
/// left over.
const UNREPLAYED: &str = "Some of the recorded exchanges have not been replayed";
/// kwctl's log line for each lookup of a kind the policy was not granted.
const NOT_GRANTED: &str = "Policy tried to access a Kubernetes resource it doesn't have access to";
/// kwctl's reason for a lookup past the end of the interactions file.
const PAST_THE_FILE: &str = "the list of recorded responses is empty";

/// kwctl's answer to one request, and how many lookups the policy made, as
/// kwctl's logs tell: exchanges of the interactions file replayed, lookups
/// past its end, and lookups refused for want of access.
#[derive(Debug)]
pub struct KwctlAnswer {
    pub answer: Answer,
    pub lookups: usize,
}

/// A kwctl binary.
pub struct Kwctl {
    binary: PathBuf,
    scratch: PathBuf,
    /// Numbers the request files, so that runs may go on side by side.
    runs: AtomicUsize,
    /// The module annotated with the repository's metadata.yml, made once,
    /// so that kwctl runs the policy as it is published: it grants
    /// context-aware access only as the metadata declares it.
    annotated: OnceLock<std::result::Result<PathBuf, String>>,
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
            annotated: OnceLock::new(),
        }
    }

    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// `kwctl run --settings-json <settings> -r <request file> <wasm>`, on
    /// the module annotated with the repository's metadata, with the
    /// lookups `cluster` answers: when it names a Namespace (or its error)
    /// or lists images, kwctl runs with `--allow-context-aware
    /// --replay-host-capabilities-interactions` and a file of interactions
    /// made from them; otherwise without access, as a policy deployed
    /// without contextAwareResources. Safe to call from several
    /// threads at once.
    pub fn run(
        &self,
        wasm: &Path,
        cluster: &Cluster,
        settings: &Value,
        request: &Value,
    ) -> Result<KwctlAnswer> {
        let annotated = self.annotated(wasm)?;
        let run = self.runs.fetch_add(1, Ordering::Relaxed);
        let request_file = self.scratch.join(format!("request-{run}.json"));
        std::fs::write(&request_file, serde_json::to_vec_pretty(request)?)?;
        let interactions = match interactions(cluster) {
            Some(exchanges) => {
                let file = self.scratch.join(format!("interactions-{run}.yml"));
                std::fs::write(&file, exchanges)?;
                Some(file)
            }
            None => None,
        };
        let mut command = Command::new(&self.binary);
        command.arg("run");
        if let Some(interactions) = &interactions {
            command
                .arg("--allow-context-aware")
                .arg("--replay-host-capabilities-interactions")
                .arg(interactions);
        }
        let output = command
            .arg("--settings-json")
            .arg(settings.to_string())
            .arg("-r")
            .arg(&request_file)
            .arg(&annotated)
            .output()
            .with_context(|| format!("cannot start {}", self.binary.display()));
        let _ = std::fs::remove_file(&request_file);
        if let Some(interactions) = &interactions {
            let _ = std::fs::remove_file(interactions);
        }
        let output = output?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        let answer = parse_output(
            output.status.success(),
            &String::from_utf8_lossy(&output.stdout),
            &stderr,
        )?;
        let exchanges = usize::from(cluster.namespace.is_some()) + cluster.images.len();
        Ok(KwctlAnswer {
            answer,
            lookups: lookups_made(exchanges, &strip_ansi(&stderr)),
        })
    }

    /// The annotated module, made on first use in the scratch folder.
    fn annotated(&self, wasm: &Path) -> Result<PathBuf> {
        let made = self.annotated.get_or_init(|| {
            let repository = crate::repository_root();
            let annotated = self.scratch.join("annotated-policy.wasm");
            std::fs::create_dir_all(&self.scratch)
                .map_err(|err| format!("cannot create {}: {err}", self.scratch.display()))?;
            let output = Command::new(&self.binary)
                .arg("annotate")
                .arg("-m")
                .arg(repository.join("metadata.yml"))
                .arg("-u")
                .arg(repository.join("README.md"))
                .arg("-o")
                .arg(&annotated)
                .arg(wasm)
                .output()
                .map_err(|err| format!("cannot start {}: {err}", self.binary.display()))?;
            if !output.status.success() {
                return Err(format!(
                    "kwctl annotate failed:\n{}",
                    strip_ansi(&String::from_utf8_lossy(&output.stderr))
                ));
            }
            Ok(annotated)
        });
        made.clone().map_err(anyhow::Error::msg)
    }
}

/// The interactions kwctl replays for `cluster`'s lookups, in the format
/// `--replay-host-capabilities-interactions` reads (its
/// `--record-host-capabilities-interactions` writes the same): one exchange
/// per lookup, in the order the policy makes them (its Namespace first,
/// then its images), whose request is the `CallbackRequestType` the policy
/// must send, as YAML tagged with its variant, and whose response is the
/// answer's JSON text or the host's error. `None` when the cluster answers
/// no lookup.
pub fn interactions(cluster: &Cluster) -> Option<String> {
    let namespace = cluster.namespace.iter().map(|lookup| {
        // JSON quoting is YAML quoting for a name, whatever it holds.
        let request = format!(
            "!KubernetesGetResource\napi_version: v1\nkind: Namespace\nname: {}\nnamespace: null\ndisable_cache: false\n",
            Value::from(lookup.name.as_str())
        );
        let response = match &lookup.answer {
            Ok(object) => json!({"type": "Success", "payload": object.to_string()}),
            Err(message) => json!({"type": "Error", "message": message}),
        };
        json!({"type": "Exchange", "request": request, "response": response})
    });
    let images = cluster.images.iter().map(|lookup| {
        // JSON quoting is YAML quoting for an image, whatever it holds.
        let request = format!(
            "!OciManifestAndConfig\nimage: {}\n",
            Value::from(lookup.image.as_str())
        );
        let response = match &lookup.answer {
            Ok(payload) => json!({"type": "Success", "payload": payload}),
            Err(message) => json!({"type": "Error", "message": message}),
        };
        json!({"type": "Exchange", "request": request, "response": response})
    });
    let exchanges: Vec<Value> = namespace.chain(images).collect();
    if exchanges.is_empty() {
        return None;
    }
    Some(serde_norway::to_string(&exchanges).expect("a JSON value always serializes as YAML"))
}

/// How many lookups a run made, from its (uncoloured) logs: the
/// `exchanges` of its interactions file less those kwctl reports left
/// over, the lookups it answered past the end of the file, and the lookups
/// it refused for want of access.
pub fn lookups_made(exchanges: usize, stderr: &str) -> usize {
    let left_over = stderr
        .lines()
        .find(|line| line.contains(UNREPLAYED))
        .map_or(0, |line| line.matches("Exchange {").count());
    let past_the_file = stderr
        .lines()
        .filter(|line| line.contains(PAST_THE_FILE))
        .count();
    let refused = stderr
        .lines()
        .filter(|line| line.contains(NOT_GRANTED))
        .count();
    exchanges.saturating_sub(left_over) + past_the_file + refused
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
    use crate::ImageLookup;

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
    fn the_interactions_replay_the_lookup_of_the_case_namespace() {
        assert_eq!(interactions(&Cluster::default()), None);
        let namespace = json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "team-a", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}});
        let text = interactions(&Cluster::with_namespace("team-a", namespace.clone())).unwrap();
        let exchanges: Value = serde_norway::from_str(&text).unwrap();
        assert_eq!(
            exchanges,
            json!([{"type": "Exchange",
                "request": "!KubernetesGetResource\napi_version: v1\nkind: Namespace\nname: \"team-a\"\nnamespace: null\ndisable_cache: false\n",
                "response": {"type": "Success", "payload": namespace.to_string()}}])
        );
        // The request is itself YAML, tagged with the request type.
        let request: Value = serde_norway::from_str(
            exchanges[0]["request"]
                .as_str()
                .unwrap()
                .trim_start_matches("!KubernetesGetResource\n"),
        )
        .unwrap();
        assert_eq!(request["name"], "team-a");
        assert_eq!(request["namespace"], Value::Null);

        let text =
            interactions(&Cluster::failing("team-a", "Cannot find v1/Namespace 'x'")).unwrap();
        let exchanges: Value = serde_norway::from_str(&text).unwrap();
        assert_eq!(
            exchanges[0]["response"],
            json!({"type": "Error", "message": "Cannot find v1/Namespace 'x'"})
        );
    }

    #[test]
    fn the_interactions_replay_the_image_lookups_in_order() {
        assert_eq!(interactions(&Cluster::default()), None);
        let cluster = Cluster {
            images: vec![
                ImageLookup::with_config(
                    "registry.example.com/shop/web:3.0",
                    Some(&json!({"User": "65532"})),
                ),
                ImageLookup::failing("nginx", "registry unreachable"),
            ],
            ..Cluster::default()
        };
        let text = interactions(&cluster).unwrap();
        let exchanges: Value = serde_norway::from_str(&text).unwrap();
        assert_eq!(
            exchanges[0]["request"],
            "!OciManifestAndConfig\nimage: \"registry.example.com/shop/web:3.0\"\n"
        );
        assert_eq!(exchanges[0]["type"], "Exchange");
        assert_eq!(exchanges[0]["response"]["type"], "Success");
        let payload: Value =
            serde_json::from_str(exchanges[0]["response"]["payload"].as_str().unwrap()).unwrap();
        assert_eq!(payload["config"]["config"]["User"], "65532");
        assert_eq!(
            exchanges[1]["response"],
            json!({"type": "Error", "message": "registry unreachable"})
        );

        // The policy asks for its Namespace before it looks at any image.
        let namespace =
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}});
        let both = Cluster {
            images: cluster.images.clone(),
            ..Cluster::with_namespace("shop", namespace)
        };
        let exchanges: Value = serde_norway::from_str(&interactions(&both).unwrap()).unwrap();
        let requests: Vec<&str> = exchanges
            .as_array()
            .unwrap()
            .iter()
            .map(|exchange| {
                exchange["request"]
                    .as_str()
                    .unwrap()
                    .lines()
                    .next()
                    .unwrap()
            })
            .collect();
        assert_eq!(
            requests,
            [
                "!KubernetesGetResource",
                "!OciManifestAndConfig",
                "!OciManifestAndConfig"
            ]
        );
    }

    #[test]
    fn lookups_are_counted_from_the_logs() {
        assert_eq!(lookups_made(1, "INFO replay mode\n"), 1);
        let left_over = format!(
            "WARN kwctl::callback_handler::proxy: {UNREPLAYED} leftovers=[Exchange {{ request: \"!KubernetesGetResource\\n\" }}]\n"
        );
        assert_eq!(lookups_made(1, &left_over), 0);
        assert_eq!(lookups_made(0, ""), 0);
        let refused = format!(
            "ERROR validate: policy_evaluator::runtimes::callback: {NOT_GRANTED} policy=x\n"
        );
        assert_eq!(lookups_made(0, &refused), 1);
        assert_eq!(lookups_made(2, "INFO replay mode\n"), 2);
        let left_over = format!(
            "WARN kwctl::callback_handler::proxy: {UNREPLAYED} leftovers=[Exchange {{ request: \"!OciManifestAndConfig\\n\" }}]\n"
        );
        assert_eq!(lookups_made(2, &left_over), 1);
        let past = format!("ERROR callback evaluation failed error={PAST_THE_FILE}\n");
        assert_eq!(lookups_made(1, &past), 2);
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
