//! Test cases and examples as data: their YAML schema, loading, and the
//! comparison of an expectation with an answer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::request::complete_request;
use crate::{Answer, Cluster, ImageLookup};

/// One case of a `cases/*.yaml` file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    #[serde(default = "empty_settings")]
    pub settings: Value,
    /// The request as written; see [`Case::admission_request`].
    pub request: Value,
    /// The Namespace the request runs in, as the host returns it to the
    /// policy's lookup (`kubernetes/get_resource`); see [`Case::cluster`].
    pub namespace: Option<Value>,
    /// Instead of `namespace`: the error the host returns to that lookup.
    pub namespace_error: Option<String>,
    /// The images the policy looks up (`oci/v1/oci_manifest_config`), in
    /// the order it looks them up, and what the host answers; see
    /// [`Case::cluster`].
    #[serde(default)]
    pub images: Vec<ImageCase>,
    pub expect: Expect,
    /// For a case kwctl cannot express; it then runs on the native host only.
    #[serde(default)]
    pub skip_kwctl: bool,
}

/// One image of a case and the host's answer to its lookup: the
/// execution parameters of its configuration (`config: {User: "1000"}`;
/// `config: {}` for an image that names no user), or the host's error.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageCase {
    pub image: String,
    pub config: Option<Value>,
    pub error: Option<String>,
}

/// What a case expects of the answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The settings must be refused with a message containing this.
    pub settings_error: Option<String>,
    pub allowed: Option<bool>,
    pub message: Option<String>,
    pub message_contains: Option<String>,
    pub code: Option<u16>,
    /// Absent: there must be no patch. Present: exactly these operations, in
    /// any order.
    pub patch: Option<Vec<Value>>,
    /// Absent (and no `warnings_count`): there must be no warning.
    pub warnings: Option<Vec<String>>,
    pub warnings_count: Option<usize>,
    pub audit_annotations: Option<BTreeMap<String, String>>,
    /// How many calls to host capabilities other than logging the policy
    /// made (Namespace and image lookups).
    pub host_calls: Option<usize>,
}

/// One file of `examples/`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub title: String,
    #[serde(default = "empty_settings")]
    pub settings: Value,
    pub request: Value,
}

fn empty_settings() -> Value {
    json!({})
}

impl Case {
    /// The full AdmissionRequest for this case.
    pub fn admission_request(&self) -> Result<Value> {
        complete_request(&self.request)
    }

    /// What the host answers to the policy's lookups: the case's Namespace
    /// under the request's namespace, or the error of its lookup (with
    /// neither, the lookup is not granted, as to a policy deployed without
    /// contextAwareResources); and each image the case lists, in turn (with
    /// none, every image lookup fails).
    pub fn cluster(&self) -> Result<Cluster> {
        let mut cluster = self.namespace_lookup()?;
        cluster.images = self.image_lookups()?;
        Ok(cluster)
    }

    fn namespace_lookup(&self) -> Result<Cluster> {
        let request = self.admission_request()?;
        let name = request["namespace"].as_str().unwrap_or_default();
        match (&self.namespace, &self.namespace_error) {
            (None, None) => Ok(Cluster::default()),
            (Some(_), Some(_)) => bail!("give either `namespace` or `namespace_error`, not both"),
            (None, Some(error)) => Ok(Cluster::failing(name, error)),
            (Some(namespace), None) => {
                let is_namespace =
                    namespace["apiVersion"] == "v1" && namespace["kind"] == "Namespace";
                if !is_namespace {
                    bail!("`namespace` must be a Namespace object (apiVersion v1, kind Namespace)");
                }
                let named = namespace.pointer("/metadata/name").and_then(Value::as_str);
                if named != Some(name) {
                    bail!(
                        "`namespace` is named {named:?}, but the request runs in {name:?}: name it \
                         after the request's namespace (a Namespace that cannot be found is \
                         `namespace_error`)"
                    );
                }
                Ok(Cluster::with_namespace(name, namespace.clone()))
            }
        }
    }

    fn image_lookups(&self) -> Result<Vec<ImageLookup>> {
        let mut images = Vec::with_capacity(self.images.len());
        for listed in &self.images {
            let lookup = match (&listed.config, &listed.error) {
                (Some(config), None) if config.is_object() => {
                    ImageLookup::with_config(&listed.image, Some(config))
                }
                (Some(_), None) => bail!(
                    "image {:?}: `config` must be a mapping, the image configuration's \
                     execution parameters ({{User: \"1000\"}}, or {{}} for none)",
                    listed.image
                ),
                (None, Some(error)) => ImageLookup::failing(&listed.image, error),
                _ => bail!("image {:?}: give either `config` or `error`", listed.image),
            };
            images.push(lookup);
        }
        Ok(images)
    }
}

impl Expect {
    /// Refuses expectations that contradict each other or would be ignored.
    fn check_consistent(&self) -> Result<()> {
        if self.settings_error.is_some() {
            let others = self.allowed.is_some()
                || self.message.is_some()
                || self.message_contains.is_some()
                || self.code.is_some()
                || self.patch.is_some()
                || self.warnings.is_some()
                || self.warnings_count.is_some()
                || self.audit_annotations.is_some()
                || self.host_calls.is_some();
            if others {
                bail!("`settings_error` is checked alone: remove the other expectations");
            }
        } else if self.allowed.is_none() {
            bail!("`expect.allowed` is required unless `expect.settings_error` is given");
        }
        if self.warnings.is_some() && self.warnings_count.is_some() {
            bail!("give either `warnings` or `warnings_count`, not both");
        }
        Ok(())
    }
}

impl Example {
    pub fn load(path: &Path) -> Result<Example> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_norway::from_str(&text).with_context(|| format!("in {}", path.display()))
    }

    /// The full AdmissionRequest for this example.
    pub fn admission_request(&self) -> Result<Value> {
        complete_request(&self.request)
    }
}

/// The cases of one file, or why they could not be read.
#[derive(Debug)]
pub struct CaseFile {
    pub path: PathBuf,
    pub cases: Vec<Case>,
    /// Problems in the file; its valid cases still run.
    pub errors: Vec<String>,
}

/// The `*.yaml` files of a folder, sorted by name.
pub fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        let is_yaml = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        );
        if is_yaml && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Loads every case file of a folder. Each case is read on its own, so one
/// bad case is reported by name and does not hide the others. Case names
/// must be unique across all files.
pub fn load_case_files(dir: &Path) -> Result<Vec<CaseFile>> {
    let mut files = Vec::new();
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    for path in yaml_files(dir)? {
        let mut file = parse_case_file(&path);
        let mut duplicates = Vec::new();
        file.cases.retain(|case| match seen.get(&case.name) {
            Some(first) => {
                duplicates.push(format!(
                    "duplicate case name {:?} (first defined in {})",
                    case.name,
                    first.file_name().unwrap_or_default().to_string_lossy()
                ));
                false
            }
            None => {
                seen.insert(case.name.clone(), path.clone());
                true
            }
        });
        file.errors.extend(duplicates);
        files.push(file);
    }
    Ok(files)
}

fn parse_case_file(path: &Path) -> CaseFile {
    let mut file = CaseFile {
        path: path.to_path_buf(),
        cases: Vec::new(),
        errors: Vec::new(),
    };
    let entries: Vec<Value> = match std::fs::read_to_string(path)
        .map_err(anyhow::Error::from)
        .and_then(|text| Ok(serde_norway::from_str::<Option<Vec<Value>>>(&text)?))
    {
        Ok(entries) => entries.unwrap_or_default(),
        Err(err) => {
            file.errors
                .push(format!("not a YAML list of cases: {err:#}"));
            return file;
        }
    };
    for (index, entry) in entries.into_iter().enumerate() {
        let label = match entry.get("name").and_then(Value::as_str) {
            Some(name) => format!("case {name:?}"),
            None => format!("case #{} (no name)", index + 1),
        };
        let case = serde_json::from_value::<Case>(entry)
            .map_err(anyhow::Error::from)
            .and_then(|case| {
                case.expect.check_consistent()?;
                case.admission_request()?;
                case.cluster()?;
                Ok(case)
            });
        match case {
            Ok(case) => file.cases.push(case),
            Err(err) => file.errors.push(format!("{label}: {err:#}")),
        }
    }
    file
}

/// Every way in which `answer` differs from `expect`; empty when it matches.
pub fn mismatches(expect: &Expect, answer: &Answer) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(wanted) = &expect.settings_error {
        match &answer.settings_error {
            Some(actual) if actual.contains(wanted.as_str()) => {}
            Some(actual) => problems.push(format!(
                "settings were refused, but the message does not contain {wanted:?}:\n    {actual:?}"
            )),
            None => problems.push(format!(
                "settings should be refused with a message containing {wanted:?}, but were accepted"
            )),
        }
        return problems;
    }
    if let Some(message) = &answer.settings_error {
        problems.push(format!("settings were refused: {message:?}"));
        return problems;
    }

    if let Some(allowed) = expect.allowed
        && allowed != answer.allowed
    {
        problems.push(format!(
            "allowed: expected {allowed}, got {} (message: {:?})",
            answer.allowed, answer.message
        ));
    }
    if let Some(message) = &expect.message
        && answer.message.as_deref() != Some(message.as_str())
    {
        problems.push(format!(
            "message:\n    expected: {message:?}\n    actual:   {:?}",
            answer.message
        ));
    }
    if let Some(part) = &expect.message_contains
        && !answer
            .message
            .as_deref()
            .is_some_and(|m| m.contains(part.as_str()))
    {
        problems.push(format!(
            "message should contain {part:?}\n    actual: {:?}",
            answer.message
        ));
    }
    if let Some(code) = expect.code
        && answer.code != Some(code)
    {
        problems.push(format!("code: expected {code}, got {:?}", answer.code));
    }

    let expected_patch = expect.patch.clone().unwrap_or_default();
    let actual_patch = answer.patch.clone().unwrap_or_default();
    if let Some(difference) = patch_difference(&expected_patch, &actual_patch) {
        problems.push(difference);
    }

    match (&expect.warnings, expect.warnings_count) {
        (_, Some(count)) => {
            if answer.warnings.len() != count {
                problems.push(format!(
                    "warnings: expected {count}, got {}:\n{}",
                    answer.warnings.len(),
                    indent(&pretty(&json!(answer.warnings)))
                ));
            }
        }
        (wanted, None) => {
            let wanted = wanted.clone().unwrap_or_default();
            if wanted != answer.warnings {
                problems.push(format!(
                    "warnings differ\n  expected:\n{}\n  actual:\n{}",
                    indent(&pretty(&json!(wanted))),
                    indent(&pretty(&json!(answer.warnings)))
                ));
            }
        }
    }

    if let Some(wanted) = &expect.audit_annotations
        && wanted != &answer.audit_annotations
    {
        problems.push(format!(
            "audit_annotations differ\n  expected:\n{}\n  actual:\n{}",
            indent(&pretty(&json!(wanted))),
            indent(&pretty(&json!(answer.audit_annotations)))
        ));
    }
    problems
}

/// How many calls to host capabilities other than logging a native answer
/// shows.
pub fn lookups(answer: &Answer) -> usize {
    answer
        .host_calls
        .iter()
        .filter(|call| !call.is_log())
        .count()
}

/// The difference between the host calls a case expects and those made;
/// `None` when they agree or the case does not say.
pub fn host_calls_mismatch(expect: &Expect, made: usize) -> Option<String> {
    let wanted = expect.host_calls?;
    (wanted != made).then(|| format!("host_calls: expected {wanted}, the policy made {made}"))
}

/// Sorts JSONPatch operations so that two patches compare as sets.
pub fn sorted_operations(operations: &[Value]) -> Vec<Value> {
    let mut sorted = operations.to_vec();
    sorted.sort_by_key(|op| {
        (
            op["path"].as_str().unwrap_or_default().to_string(),
            op["op"].as_str().unwrap_or_default().to_string(),
            op.to_string(),
        )
    });
    sorted
}

/// None when both patches hold the same operations; else a readable account
/// of the operations missing and unexpected, and both patches in full.
pub fn patch_difference(expected: &[Value], actual: &[Value]) -> Option<String> {
    let expected = sorted_operations(expected);
    let actual = sorted_operations(actual);
    if expected == actual {
        return None;
    }
    let expected_set: BTreeSet<String> = expected.iter().map(describe_operation).collect();
    let actual_set: BTreeSet<String> = actual.iter().map(describe_operation).collect();
    let mut text = String::from("patch differs");
    let missing: Vec<&String> = expected_set.difference(&actual_set).collect();
    let unexpected: Vec<&String> = actual_set.difference(&expected_set).collect();
    if !missing.is_empty() {
        text.push_str("\n  expected but not produced:");
        for op in missing {
            text.push_str(&format!("\n    {op}"));
        }
    }
    if !unexpected.is_empty() {
        text.push_str("\n  produced but not expected:");
        for op in unexpected {
            text.push_str(&format!("\n    {op}"));
        }
    }
    text.push_str(&format!(
        "\n  expected patch:\n{}\n  actual patch:\n{}",
        indent(&pretty(&json!(expected))),
        indent(&pretty(&json!(actual)))
    ));
    Some(text)
}

/// One JSONPatch operation on one line: `add /spec/x {"a":1}`.
pub fn describe_operation(operation: &Value) -> String {
    let op = operation["op"].as_str().unwrap_or("?");
    let path = operation["path"].as_str().unwrap_or("?");
    let mut line = format!("{op} {path}");
    if let Some(from) = operation.get("from").and_then(Value::as_str) {
        line.push_str(&format!(" from {from}"));
    }
    if let Some(value) = operation.get("value") {
        line.push_str(&format!(" {value}"));
    }
    line
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).expect("a JSON value always serializes")
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("    {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case_from_yaml(yaml: &str) -> Result<Case> {
        let value: Value = serde_norway::from_str(yaml)?;
        let case: Case = serde_json::from_value(value)?;
        case.expect.check_consistent()?;
        Ok(case)
    }

    #[test]
    fn reads_a_case_with_defaults() {
        let case = case_from_yaml(
            "name: n\nrequest: {object: {apiVersion: v1, kind: ConfigMap}}\nexpect: {allowed: true}\n",
        )
        .unwrap();
        assert_eq!(case.settings, json!({}));
        assert!(!case.skip_kwctl);
        assert_eq!(case.expect.allowed, Some(true));
        assert_eq!(case.admission_request().unwrap()["operation"], "CREATE");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = case_from_yaml("name: n\nrequest: {}\nexpect: {allowed: true}\nsetings: {}\n")
            .unwrap_err();
        assert!(err.to_string().contains("setings"), "{err}");
        let err = case_from_yaml("name: n\nrequest: {}\nexpect: {allowed: true, pach: []}\n")
            .unwrap_err();
        assert!(err.to_string().contains("pach"), "{err}");
    }

    #[test]
    fn a_case_names_its_namespace_or_the_lookup_error() {
        let object = "{apiVersion: v1, kind: Pod, metadata: {name: web, namespace: team-a}}";
        let namespace = "{apiVersion: v1, kind: Namespace, metadata: {name: team-a}}";
        let case = case_from_yaml(&format!(
            "name: n\nnamespace: {namespace}\nrequest: {{object: {object}}}\nexpect: {{allowed: true, host_calls: 1}}\n"
        ))
        .unwrap();
        assert_eq!(case.expect.host_calls, Some(1));
        let cluster = case.cluster().unwrap();
        let lookup = cluster.namespace.unwrap();
        assert_eq!(lookup.name, "team-a");
        assert_eq!(lookup.answer.unwrap()["metadata"]["name"], "team-a");

        let failing = case_from_yaml(&format!(
            "name: n\nnamespace_error: gone\nrequest: {{object: {object}}}\nexpect: {{allowed: true}}\n"
        ))
        .unwrap();
        assert_eq!(
            failing.cluster().unwrap().namespace.unwrap().answer,
            Err("gone".to_string())
        );
        let plain = case_from_yaml(&format!(
            "name: n\nrequest: {{object: {object}}}\nexpect: {{allowed: true}}\n"
        ))
        .unwrap();
        assert_eq!(plain.cluster().unwrap(), Cluster::default());

        let elsewhere = namespace.replace("team-a", "team-b");
        let misnamed = case_from_yaml(&format!(
            "name: n\nnamespace: {elsewhere}\nrequest: {{object: {object}}}\nexpect: {{allowed: true}}\n"
        ))
        .unwrap();
        assert!(
            misnamed
                .cluster()
                .unwrap_err()
                .to_string()
                .contains("\"team-b\"")
        );
        let both = case_from_yaml(&format!(
            "name: n\nnamespace: {namespace}\nnamespace_error: x\nrequest: {{object: {object}}}\nexpect: {{allowed: true}}\n"
        ))
        .unwrap();
        assert!(both.cluster().is_err());
    }

    #[test]
    fn a_case_lists_its_images_with_a_config_or_an_error() {
        let request = "request: {object: {apiVersion: v1, kind: Pod, metadata: {name: web}}}";
        let case = case_from_yaml(&format!(
            "name: n\n{request}\nimages:\n  - {{image: web:1, config: {{User: \"1000\"}}}}\n  \
             - {{image: nginx:1.27, error: gone}}\nexpect: {{allowed: true, host_calls: 2}}\n"
        ))
        .unwrap();
        assert_eq!(case.expect.host_calls, Some(2));
        assert_eq!(
            case.cluster().unwrap().images,
            vec![
                ImageLookup::with_config("web:1", Some(&json!({"User": "1000"}))),
                ImageLookup::failing("nginx:1.27", "gone"),
            ]
        );
        let plain =
            case_from_yaml(&format!("name: n\n{request}\nexpect: {{allowed: true}}\n")).unwrap();
        assert_eq!(plain.cluster().unwrap(), Cluster::default());
        for images in [
            "[{image: web:1}]",
            "[{image: web:1, config: {}, error: gone}]",
            "[{image: web:1, config: \"1000\"}]",
        ] {
            let case = case_from_yaml(&format!(
                "name: n\n{request}\nimages: {images}\nexpect: {{allowed: true}}\n"
            ))
            .unwrap();
            assert!(case.cluster().is_err(), "{images}");
        }
    }

    #[test]
    fn host_calls_are_checked_when_given() {
        let expect = Expect {
            allowed: Some(true),
            host_calls: Some(1),
            ..Expect::default()
        };
        assert_eq!(host_calls_mismatch(&expect, 1), None);
        assert_eq!(
            host_calls_mismatch(&expect, 0).as_deref(),
            Some("host_calls: expected 1, the policy made 0")
        );
        assert_eq!(host_calls_mismatch(&Expect::default(), 3), None);
    }

    #[test]
    fn allowed_is_required_without_settings_error() {
        assert!(case_from_yaml("name: n\nrequest: {}\nexpect: {}\n").is_err());
        assert!(case_from_yaml("name: n\nrequest: {}\nexpect: {settings_error: x}\n").is_ok());
        assert!(
            case_from_yaml("name: n\nrequest: {}\nexpect: {settings_error: x, allowed: false}\n")
                .is_err()
        );
    }

    #[test]
    fn patches_compare_in_any_order() {
        let a = json!({"op": "add", "path": "/a", "value": 1});
        let b = json!({"op": "add", "path": "/b", "value": 2});
        assert_eq!(
            patch_difference(&[a.clone(), b.clone()], &[b.clone(), a.clone()]),
            None
        );
        let text = patch_difference(&[a], &[b]).unwrap();
        assert!(
            text.contains("expected but not produced:\n    add /a 1"),
            "{text}"
        );
        assert!(
            text.contains("produced but not expected:\n    add /b 2"),
            "{text}"
        );
    }

    #[test]
    fn absent_patch_and_warnings_mean_none() {
        let expect = Expect {
            allowed: Some(true),
            ..Expect::default()
        };
        let clean = Answer {
            allowed: true,
            ..Answer::default()
        };
        assert!(mismatches(&expect, &clean).is_empty());
        let noisy = Answer {
            allowed: true,
            patch: Some(vec![json!({"op": "remove", "path": "/x"})]),
            warnings: vec!["w".into()],
            ..Answer::default()
        };
        assert_eq!(mismatches(&expect, &noisy).len(), 2);
    }

    #[test]
    fn settings_error_is_matched_as_a_substring() {
        let expect = Expect {
            settings_error: Some("no_such_setting".into()),
            ..Expect::default()
        };
        let refused = Answer {
            settings_error: Some("unknown field `no_such_setting`".into()),
            ..Answer::default()
        };
        assert!(mismatches(&expect, &refused).is_empty());
        let accepted = Answer {
            allowed: true,
            ..Answer::default()
        };
        assert_eq!(mismatches(&expect, &accepted).len(), 1);
    }

    #[test]
    fn describes_operations_on_one_line() {
        assert_eq!(
            describe_operation(&json!({"op": "add", "path": "/spec/a", "value": {"b": false}})),
            r#"add /spec/a {"b":false}"#
        );
        assert_eq!(
            describe_operation(&json!({"op": "remove", "path": "/spec/a"})),
            "remove /spec/a"
        );
    }
}
