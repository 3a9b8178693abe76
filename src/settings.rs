//! The policy's settings: their names, defaults and the sentences that refuse
//! bad ones.
//!
//! Settings are read with a derived `Deserialize`. When that fails, the text
//! is read again key by key, each value kept as the JSON text it is
//! (`RawValue`), only to find the key at fault and say in a sentence what it
//! allows, quoting the value as written: serde's own messages are written
//! for programmers, not for the person who wrote the settings.

use crate::checks::{PssLevel, PssVersion};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// How much of Knative Serving's `secure-pod-defaults` to apply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// Nothing is defaulted.
    Disabled,
    /// allowPrivilegeEscalation, seccomp RuntimeDefault and capabilities;
    /// containers may still run as root.
    #[default]
    RootAllowed,
    /// Everything `root-allowed` does, plus `runAsNonRoot: true`.
    Enabled,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Disabled => "disabled",
            Level::RootAllowed => "root-allowed",
            Level::Enabled => "enabled",
        }
    }
}

/// The largest UID or GID Kubernetes accepts (an int64 field validated to
/// the range of a non-negative int32).
pub const MAX_ID: i64 = 2_147_483_647;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub secure_pod_defaults: Level,
    /// Written as `runAsUser` where unset; any other explicit UID is a
    /// violation.
    pub run_as_user: Option<i64>,
    /// Written as `runAsGroup` where unset; any other explicit GID is a
    /// violation.
    pub run_as_group: Option<i64>,
    /// Written as `readOnlyRootFilesystem: true` on containers where unset.
    pub read_only_root_filesystem: bool,
    /// At `enabled`, `runAsNonRoot: true` is written only on containers
    /// known to run as a non-zero UID: from `runAsUser`, or from the user
    /// their image's configuration names, read through the host (see
    /// [`crate::images`]).
    pub run_as_non_root_from_image: bool,
    /// Written as the pod sysctl `net.ipv4.ip_unprivileged_port_start`
    /// where a container that runs as non-root declares a port below 1024.
    pub unprivileged_port_sysctl: bool,
    /// The Pod Security Standards level the defaulted object is checked
    /// against; `privileged` checks nothing.
    pub pod_security: PssLevel,
    pub pod_security_version: PssVersion,
    /// Never mutate: reject what defaulting would have changed.
    pub validate_only: bool,
    /// Every container must drop exactly `[ALL]` and add nothing.
    pub strict_capabilities: bool,
    pub exemptions: Exemptions,
    /// Read each request's namespace labels (Pod Security Admission's and
    /// [`crate::namespace::DEFAULTS_LABEL`]) for the levels, in place of
    /// `secure_pod_defaults`, `pod_security` and `pod_security_version`
    /// (see [`crate::namespace`]).
    pub namespace_labels: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings::from(Given::default())
    }
}

/// Requests the policy leaves alone, as Pod Security Admission's
/// exemptions, plus images.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exemptions {
    /// Requests in these namespaces are accepted untouched.
    pub namespaces: Vec<String>,
    /// Requests by these users (as the API server names them, e.g.
    /// `system:serviceaccount:ci:deployer`) are accepted untouched.
    pub usernames: Vec<String>,
    /// Pods with one of these `runtimeClassName`s are accepted untouched.
    pub runtime_class_names: Vec<String>,
    /// Containers whose image matches (exactly, or by prefix for a pattern
    /// ending in `*`) are neither defaulted nor checked.
    pub images: Vec<String>,
}

impl Exemptions {
    const KEYS: [&'static str; 4] = ["namespaces", "usernames", "runtime_class_names", "images"];

    pub fn image(&self, image: &str) -> bool {
        self.images
            .iter()
            .any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => image.starts_with(prefix),
                None => image == pattern,
            })
    }
}

/// Every settings key, in the order the README documents them.
pub const KEYS: [&str; 12] = [
    "secure_pod_defaults",
    "run_as_user",
    "run_as_group",
    "read_only_root_filesystem",
    "run_as_non_root_from_image",
    "unprivileged_port_sysctl",
    "pod_security",
    "pod_security_version",
    "validate_only",
    "strict_capabilities",
    "exemptions",
    "namespace_labels",
];

/// The settings as written: a key that is absent or `null` is not given.
/// Every type here refuses what the key does not allow, so a value that
/// reads is a valid one.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Given {
    secure_pod_defaults: Option<Level>,
    run_as_user: Option<Id>,
    run_as_group: Option<Id>,
    read_only_root_filesystem: Option<bool>,
    run_as_non_root_from_image: Option<bool>,
    unprivileged_port_sysctl: Option<bool>,
    pod_security: Option<PssLevel>,
    pod_security_version: Option<PssVersion>,
    validate_only: Option<bool>,
    strict_capabilities: Option<bool>,
    exemptions: Option<GivenExemptions>,
    namespace_labels: Option<bool>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GivenExemptions {
    namespaces: Option<Vec<Name>>,
    usernames: Option<Vec<Name>>,
    runtime_class_names: Option<Vec<Name>>,
    images: Option<Vec<Name>>,
}

/// A UID or GID: a whole number from 0 to [`MAX_ID`].
#[derive(Deserialize)]
#[serde(try_from = "i64")]
struct Id(i64);

impl TryFrom<i64> for Id {
    type Error = &'static str;

    fn try_from(id: i64) -> Result<Id, Self::Error> {
        if (0..=MAX_ID).contains(&id) {
            Ok(Id(id))
        } else {
            Err("out of range")
        }
    }
}

/// One name in an exemptions list: not empty.
#[derive(Deserialize)]
#[serde(try_from = "String")]
struct Name(String);

impl TryFrom<String> for Name {
    type Error = &'static str;

    fn try_from(name: String) -> Result<Name, Self::Error> {
        if name.is_empty() {
            Err("empty")
        } else {
            Ok(Name(name))
        }
    }
}

impl From<Given> for Settings {
    fn from(given: Given) -> Settings {
        let exemptions = given.exemptions.unwrap_or_default();
        let names = |list: Option<Vec<Name>>| -> Vec<String> {
            list.into_iter().flatten().map(|Name(name)| name).collect()
        };
        Settings {
            secure_pod_defaults: given.secure_pod_defaults.unwrap_or_default(),
            run_as_user: given.run_as_user.map(|Id(id)| id),
            run_as_group: given.run_as_group.map(|Id(id)| id),
            read_only_root_filesystem: given.read_only_root_filesystem.unwrap_or(false),
            run_as_non_root_from_image: given.run_as_non_root_from_image.unwrap_or(false),
            unprivileged_port_sysctl: given.unprivileged_port_sysctl.unwrap_or(false),
            pod_security: given.pod_security.unwrap_or(PssLevel::Privileged),
            pod_security_version: given.pod_security_version.unwrap_or(PssVersion::LATEST),
            validate_only: given.validate_only.unwrap_or(false),
            strict_capabilities: given.strict_capabilities.unwrap_or(false),
            exemptions: Exemptions {
                namespaces: names(exemptions.namespaces),
                usernames: names(exemptions.usernames),
                runtime_class_names: names(exemptions.runtime_class_names),
                images: names(exemptions.images),
            },
            namespace_labels: given.namespace_labels.unwrap_or(false),
        }
    }
}

impl Settings {
    /// Reads and checks settings from their JSON text, as the host sends
    /// them. `null` for the whole document or for one key means "not given".
    pub fn from_json(text: &[u8]) -> Result<Settings, String> {
        let given = match serde_json::from_slice::<Option<Given>>(text) {
            Ok(given) => given.unwrap_or_default(),
            Err(error) => reread(text, error)?,
        };
        let settings = Settings::from(given);
        settings.refuse_contradictions()?;
        Ok(settings)
    }

    fn refuse_contradictions(&self) -> Result<(), String> {
        if self.secure_pod_defaults == Level::Enabled && self.run_as_user == Some(0) {
            return Err(
                "run_as_user is 0 while secure_pod_defaults is enabled: runAsNonRoot=true with \
                 runAsUser=0 stops every defaulted container from starting; use a non-zero UID \
                 or secure_pod_defaults: root-allowed"
                    .to_string(),
            );
        }
        if self.namespace_labels && self.run_as_user == Some(0) {
            return Err(format!(
                "run_as_user is 0 while namespace_labels is true: a namespace labelled \
                 restricted, or {}: enabled, gets runAsNonRoot=true, and with runAsUser=0 \
                 its containers cannot start; use a non-zero UID",
                crate::namespace::DEFAULTS_LABEL
            ));
        }
        Ok(())
    }
}

/// Settings that did not read as [`Given`], read again key by key: the
/// sentence for the first fault, in the order of [`KEYS`] after unknown
/// keys, as a person would fix them.
fn reread(text: &[u8], error: serde_json::Error) -> Result<Given, String> {
    let raw: &RawValue = serde_json::from_slice(text)
        .map_err(|error| format!("the settings are not valid JSON: {error}"))?;
    let Some(map) = object(raw) else {
        return Err(format!(
            "the settings must be an object of key: value pairs, not {}",
            describe(raw)
        ));
    };
    refuse_unknown_keys(&map, &KEYS, "")?;
    for key in KEYS {
        if let Some(value) = given(&map, key) {
            refuse_value(key, value)?;
        }
    }
    // Every value is allowed, so a key is given twice (the settings a host
    // sends never are): the last value counts, as in a map.
    let exemptions = given(&map, "exemptions")
        .and_then(object)
        .and_then(|exemptions| serde_json::value::to_raw_value(&exemptions).ok());
    // Extended, not collected: a B-tree's `collect` sorts with the stable
    // sort, whose code the module otherwise does without.
    let mut last: BTreeMap<&str, &RawValue> = BTreeMap::new();
    last.extend(map.iter().map(|(key, value)| (key.as_str(), *value)));
    if let Some(exemptions) = &exemptions {
        last.insert("exemptions", exemptions);
    }
    serde_json::to_vec(&last)
        .ok()
        .and_then(|text| serde_json::from_slice(&text).ok())
        .ok_or_else(|| format!("the settings cannot be read: {error}"))
}

/// The keys of a JSON object and their values as written; `None` for
/// anything else.
fn object(raw: &RawValue) -> Option<BTreeMap<String, &RawValue>> {
    serde_json::from_slice(raw.get().as_bytes()).ok()
}

/// The value of `key`, unless absent or `null`.
fn given<'r>(map: &BTreeMap<String, &'r RawValue>, key: &str) -> Option<&'r RawValue> {
    map.get(key).copied().filter(|value| value.get() != "null")
}

/// Whether `value` reads as a `T`.
fn reads_as<'r, T: Deserialize<'r>>(value: &'r RawValue) -> bool {
    serde_json::from_slice::<T>(value.get().as_bytes()).is_ok()
}

/// The sentence for a value `key` does not allow.
fn refuse_value(key: &str, value: &RawValue) -> Result<(), String> {
    let allowed = match key {
        "secure_pod_defaults" if !reads_as::<Level>(value) => {
            "\"disabled\", \"root-allowed\" or \"enabled\"".to_string()
        }
        "run_as_user" | "run_as_group" if !reads_as::<Id>(value) => {
            format!("a whole number from 0 to {MAX_ID}")
        }
        "read_only_root_filesystem"
        | "run_as_non_root_from_image"
        | "unprivileged_port_sysctl"
        | "validate_only"
        | "strict_capabilities"
        | "namespace_labels"
            if !reads_as::<bool>(value) =>
        {
            "true or false".to_string()
        }
        "pod_security" if !reads_as::<PssLevel>(value) => {
            "\"privileged\", \"baseline\" or \"restricted\"".to_string()
        }
        "pod_security_version" if !reads_as::<PssVersion>(value) => {
            let hint = if value
                .get()
                .starts_with(|c: char| c == '-' || c.is_ascii_digit())
            {
                " (write the version as a string, such as \"v1.30\")"
            } else {
                ""
            };
            return Err(format!(
                "pod_security_version must be \"latest\" or a version from \"v1.0\" to \"v1.{}\", not {}{hint}",
                PssVersion::NEWEST_MINOR,
                describe(value)
            ));
        }
        "exemptions" => return refuse_exemptions(value),
        _ => return Ok(()),
    };
    let found = match string(value) {
        // A mistyped level is shown whole, however long.
        Some(text) if key == "secure_pod_defaults" => format!("\"{text}\""),
        _ => describe(value),
    };
    Err(format!("{key} must be {allowed}, not {found}"))
}

fn refuse_exemptions(value: &RawValue) -> Result<(), String> {
    let Some(map) = object(value) else {
        return Err(format!(
            "exemptions must be an object with the keys {}, not {}",
            Exemptions::KEYS.join(", "),
            describe(value)
        ));
    };
    refuse_unknown_keys(&map, &Exemptions::KEYS, "exemptions.")?;
    for key in Exemptions::KEYS {
        let Some(value) = given(&map, key) else {
            continue;
        };
        let Ok(items) = serde_json::from_slice::<Vec<&RawValue>>(value.get().as_bytes()) else {
            return Err(format!(
                "exemptions.{key} must be a list of non-empty strings, not {}",
                describe(value)
            ));
        };
        if let Some(item) = items.into_iter().find(|item| !reads_as::<Name>(item)) {
            return Err(format!(
                "exemptions.{key} must be a list of non-empty strings; it holds {}",
                describe(item)
            ));
        }
    }
    Ok(())
}

/// The text of a JSON string; `None` for anything else.
fn string(value: &RawValue) -> Option<String> {
    serde_json::from_slice(value.get().as_bytes()).ok()
}

/// A value as a refusal quotes it: a short string, a number or a literal
/// as written, a long string or a collection by what it is.
fn describe(value: &RawValue) -> String {
    let text = value.get();
    match (text.as_bytes().first(), string(value)) {
        (_, Some(text)) if text.len() <= 40 => format!("\"{text}\""),
        (_, Some(_)) => "a long string".to_string(),
        (Some(b'['), _) => "a list".to_string(),
        (Some(b'{'), _) => "an object".to_string(),
        _ => text.to_string(),
    }
}

/// Refuses keys not in `known`; `parent` names the enclosing key, if any
/// (`exemptions.`).
fn refuse_unknown_keys(
    map: &BTreeMap<String, &RawValue>,
    known: &[&'static str],
    parent: &str,
) -> Result<(), String> {
    let mut unknown: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|key| !known.contains(key))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    unknown.sort_unstable();
    let hint = match suggestion(unknown[0], known) {
        Some(known) => format!(" (did you mean \"{known}\"?)"),
        None => String::new(),
    };
    let names: Vec<String> = unknown
        .iter()
        .map(|key| format!("\"{parent}{key}\""))
        .collect();
    let noun = if unknown.len() == 1 {
        "setting"
    } else {
        "settings"
    };
    let scope = if parent.is_empty() {
        "the settings are".to_string()
    } else {
        format!("{} takes", parent.trim_end_matches('.'))
    };
    Err(format!(
        "unknown {noun} {}{hint}; {scope}: {}",
        names.join(", "),
        known.join(", ")
    ))
}

/// The known key a mistyped one most likely meant: the same letters once
/// case, `-` and `_` are ignored (so camelCase and kebab-case spellings are
/// recognised), or, failing that, a key at most two edits away.
fn suggestion(key: &str, known: &[&'static str]) -> Option<&'static str> {
    let wanted = squash(key);
    if let Some(&same) = known.iter().find(|name| squash(name) == wanted) {
        return Some(same);
    }
    // The nearest within two edits; of equally near ones, the first in
    // alphabetical order.
    let mut nearest: Option<(usize, &'static str)> = None;
    for &name in known {
        let distance = edit_distance(&squash(name), &wanted);
        if distance <= 2 && nearest.is_none_or(|best| (distance, name) < best) {
            nearest = Some((distance, name));
        }
    }
    nearest.map(|(_, name)| name)
}

/// `text` in lower case without `-` and `_`.
fn squash(text: &str) -> String {
    let mut squashed = String::with_capacity(text.len());
    for character in text.chars() {
        if character != '_' && character != '-' {
            for lower in character.to_lowercase() {
                squashed.push(lower);
            }
        }
    }
    squashed
}

/// Levenshtein distance between two short strings, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b_len = b.chars().count();
    // Distances from a prefix of `a` to each prefix of `b`: the previous
    // row and the one being filled.
    let mut previous: Vec<usize> = (0..=b_len).collect();
    let mut current = vec![0; b_len + 1];
    for (i, a_char) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, b_char) in b.chars().enumerate() {
            let substitution = previous[j] + usize::from(a_char != b_char);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b_len]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn from_value(value: &Value) -> Result<Settings, String> {
        Settings::from_json(&serde_json::to_vec(value).unwrap())
    }
    use serde_json::json;

    fn refusal(settings: Value) -> String {
        from_value(&settings).unwrap_err()
    }

    #[test]
    fn empty_settings_mean_root_allowed() {
        let settings = from_value(&json!({})).unwrap();
        assert_eq!(settings.secure_pod_defaults, Level::RootAllowed);
        assert_eq!(settings, Settings::default());
        assert_eq!(from_value(&Value::Null).unwrap(), settings);
    }

    #[test]
    fn every_key_is_read() {
        let settings = from_value(&json!({
            "secure_pod_defaults": "enabled",
            "run_as_user": 65534,
            "run_as_group": 65534,
            "read_only_root_filesystem": true,
        }))
        .unwrap();
        assert_eq!(
            settings,
            Settings {
                secure_pod_defaults: Level::Enabled,
                run_as_user: Some(65534),
                run_as_group: Some(65534),
                read_only_root_filesystem: true,
                ..Settings::default()
            }
        );
    }

    #[test]
    fn the_image_and_port_settings_are_read_and_refused_by_name() {
        let settings = from_value(&json!({
            "secure_pod_defaults": "enabled",
            "run_as_non_root_from_image": true,
            "unprivileged_port_sysctl": true,
        }))
        .unwrap();
        assert!(settings.run_as_non_root_from_image && settings.unprivileged_port_sysctl);
        let defaults = Settings::default();
        assert!(!defaults.run_as_non_root_from_image && !defaults.unprivileged_port_sysctl);
        assert_eq!(
            refusal(json!({"run_as_non_root_from_image": "yes"})),
            "run_as_non_root_from_image must be true or false, not \"yes\""
        );
        assert_eq!(
            refusal(json!({"unprivileged_port_sysctl": 1})),
            "unprivileged_port_sysctl must be true or false, not 1"
        );
        assert!(
            refusal(json!({"runAsNonRootFromImage": true}))
                .starts_with("unknown setting \"runAsNonRootFromImage\" (did you mean \"run_as_non_root_from_image\"?)")
        );
    }

    #[test]
    fn null_means_not_given() {
        let settings = from_value(&json!({"run_as_user": null})).unwrap();
        assert_eq!(settings.run_as_user, None);
    }

    #[test]
    fn unknown_keys_are_named_with_a_suggestion() {
        assert_eq!(
            refusal(json!({"securePodDefaults": "enabled"})),
            "unknown setting \"securePodDefaults\" (did you mean \"secure_pod_defaults\"?); \
             the settings are: secure_pod_defaults, run_as_user, run_as_group, \
             read_only_root_filesystem, run_as_non_root_from_image, unprivileged_port_sysctl, \
             pod_security, pod_security_version, validate_only, strict_capabilities, exemptions, \
             namespace_labels"
        );
        assert!(
            refusal(json!({"zzz": 1, "aaa": 2})).starts_with("unknown settings \"aaa\", \"zzz\";")
        );
    }

    #[test]
    fn bad_values_get_a_sentence_naming_the_key() {
        assert_eq!(
            refusal(json!({"secure_pod_defaults": "Enabled"})),
            "secure_pod_defaults must be \"disabled\", \"root-allowed\" or \"enabled\", not \"Enabled\""
        );
        assert_eq!(
            refusal(json!({"secure_pod_defaults": true})),
            "secure_pod_defaults must be \"disabled\", \"root-allowed\" or \"enabled\", not true"
        );
        assert_eq!(
            refusal(json!({"run_as_user": "65534"})),
            "run_as_user must be a whole number from 0 to 2147483647, not \"65534\""
        );
        assert_eq!(
            refusal(json!({"run_as_group": -1})),
            "run_as_group must be a whole number from 0 to 2147483647, not -1"
        );
        assert_eq!(
            refusal(json!({"run_as_group": 1.5})),
            "run_as_group must be a whole number from 0 to 2147483647, not 1.5"
        );
        assert_eq!(
            refusal(json!({"read_only_root_filesystem": "yes"})),
            "read_only_root_filesystem must be true or false, not \"yes\""
        );
        assert_eq!(
            refusal(json!(["enabled"])),
            "the settings must be an object of key: value pairs, not a list"
        );
    }

    #[test]
    fn checks_and_exemptions_are_read() {
        let settings = from_value(&json!({
            "pod_security": "restricted",
            "pod_security_version": "v1.24",
            "validate_only": true,
            "strict_capabilities": true,
            "exemptions": {"namespaces": ["kube-system"], "images": ["registry.example.com/infra/*"]},
        }))
        .unwrap();
        assert_eq!(settings.pod_security, PssLevel::Restricted);
        assert_eq!(settings.pod_security_version, PssVersion::v1(24));
        assert!(settings.validate_only && settings.strict_capabilities);
        assert_eq!(settings.exemptions.namespaces, vec!["kube-system"]);
        assert!(
            settings
                .exemptions
                .image("registry.example.com/infra/agent:1")
        );
        assert!(!settings.exemptions.image("registry.example.com/shop/web:1"));
        let defaults = Settings::default();
        assert_eq!(defaults.pod_security, PssLevel::Privileged);
        assert_eq!(defaults.pod_security_version, PssVersion::LATEST);
    }

    #[test]
    fn bad_check_settings_get_a_sentence() {
        assert_eq!(
            refusal(json!({"pod_security": "Restricted"})),
            "pod_security must be \"privileged\", \"baseline\" or \"restricted\", not \"Restricted\""
        );
        assert_eq!(
            refusal(json!({"pod_security_version": "1.30"})),
            "pod_security_version must be \"latest\" or a version from \"v1.0\" to \"v1.37\", not \"1.30\""
        );
        assert_eq!(
            refusal(json!({"exemptions": {"namespace": ["a"]}})),
            "unknown setting \"exemptions.namespace\" (did you mean \"namespaces\"?); exemptions \
             takes: namespaces, usernames, runtime_class_names, images"
        );
        assert_eq!(
            refusal(json!({"pod_security_version": 1.30})),
            "pod_security_version must be \"latest\" or a version from \"v1.0\" to \"v1.37\", \
             not 1.3 (write the version as a string, such as \"v1.30\")"
        );
        assert!(
            refusal(json!({"pod_securty": "baseline"})).contains("did you mean \"pod_security\"?")
        );
        assert_eq!(
            refusal(json!({"exemptions": {"images": ["", "x"]}})),
            "exemptions.images must be a list of non-empty strings; it holds \"\""
        );
        assert_eq!(
            refusal(json!({"exemptions": {"usernames": "alice"}})),
            "exemptions.usernames must be a list of non-empty strings, not \"alice\""
        );
        assert_eq!(
            refusal(json!({"validate_only": 1})),
            "validate_only must be true or false, not 1"
        );
    }

    #[test]
    fn root_uid_with_run_as_non_root_is_refused() {
        assert!(
            refusal(json!({"secure_pod_defaults": "enabled", "run_as_user": 0}))
                .starts_with("run_as_user is 0 while secure_pod_defaults is enabled")
        );
        assert!(
            from_value(&json!({"secure_pod_defaults": "root-allowed", "run_as_user": 0})).is_ok()
        );
    }

    #[test]
    fn namespace_labels_is_read_and_refused_like_the_other_switches() {
        assert!(!Settings::default().namespace_labels);
        assert!(
            from_value(&json!({"namespace_labels": true}))
                .unwrap()
                .namespace_labels
        );
        assert_eq!(
            refusal(json!({"namespace_labels": "yes"})),
            "namespace_labels must be true or false, not \"yes\""
        );
        // The whole list of keys is asserted with the other unknown keys.
        assert!(refusal(json!({"namespaceLabels": true})).starts_with(
            "unknown setting \"namespaceLabels\" (did you mean \"namespace_labels\"?); the \
             settings are: "
        ));
        // A namespace may ask for runAsNonRoot, which UID 0 cannot meet.
        assert_eq!(
            refusal(json!({"namespace_labels": true, "run_as_user": 0})),
            "run_as_user is 0 while namespace_labels is true: a namespace labelled restricted, \
             or secure-pod-defaults.kubewarden.io/level: enabled, gets runAsNonRoot=true, and \
             with runAsUser=0 its containers cannot start; use a non-zero UID"
        );
        assert!(from_value(&json!({"namespace_labels": true, "run_as_user": 1000})).is_ok());
    }

    #[test]
    fn the_first_fault_is_told_in_the_order_of_the_keys() {
        // Unknown keys first, then the keys as the README lists them,
        // wherever they stand in the text.
        assert!(
            refusal(json!({"run_as_user": -1, "zzz": 1})).starts_with("unknown setting \"zzz\"")
        );
        let text = br#"{"validate_only": 1, "secure_pod_defaults": "on"}"#;
        assert!(
            Settings::from_json(text)
                .unwrap_err()
                .starts_with("secure_pod_defaults must be")
        );
        assert_eq!(
            refusal(json!({"exemptions": {"images": [null], "namespace": []}})),
            "unknown setting \"exemptions.namespace\" (did you mean \"namespaces\"?); \
             exemptions takes: namespaces, usernames, runtime_class_names, images"
        );
        assert_eq!(
            refusal(json!({"exemptions": {"images": ["a", null], "usernames": [1]}})),
            "exemptions.usernames must be a list of non-empty strings; it holds 1"
        );
        assert_eq!(
            refusal(json!({"exemptions": ["kube-system"]})),
            "exemptions must be an object with the keys namespaces, usernames, \
             runtime_class_names, images, not a list"
        );
    }

    #[test]
    fn every_exemptions_list_is_read() {
        let settings = from_value(&json!({"exemptions": {
            "namespaces": ["kube-system"],
            "usernames": ["system:serviceaccount:ci:deployer"],
            "runtime_class_names": ["kata"],
            "images": null,
        }}))
        .unwrap();
        assert_eq!(
            settings.exemptions,
            Exemptions {
                namespaces: vec!["kube-system".into()],
                usernames: vec!["system:serviceaccount:ci:deployer".into()],
                runtime_class_names: vec!["kata".into()],
                images: vec![],
            }
        );
    }

    #[test]
    fn ids_past_the_kubernetes_range_are_refused() {
        assert_eq!(
            refusal(json!({"run_as_user": 2_147_483_648_u64})),
            "run_as_user must be a whole number from 0 to 2147483647, not 2147483648"
        );
        assert_eq!(
            from_value(&json!({"run_as_user": MAX_ID}))
                .unwrap()
                .run_as_user,
            Some(MAX_ID)
        );
    }

    #[test]
    fn a_key_given_twice_keeps_the_last_value() {
        let text = br#"{"run_as_user": 1000, "run_as_user": 2000}"#;
        assert_eq!(Settings::from_json(text).unwrap().run_as_user, Some(2000));
        let text = br#"{"secure_pod_defaults": true, "secure_pod_defaults": "enabled",
            "exemptions": {"images": [""], "images": ["infra/*"]}}"#;
        let settings = Settings::from_json(text).unwrap();
        assert_eq!(settings.secure_pod_defaults, Level::Enabled);
        assert_eq!(settings.exemptions.images, ["infra/*"]);
        assert_eq!(Settings::from_json(b"null").unwrap(), Settings::default());
    }

    #[test]
    fn a_number_is_quoted_as_written() {
        assert_eq!(
            Settings::from_json(br#"{"run_as_group": 1.50}"#).unwrap_err(),
            "run_as_group must be a whole number from 0 to 2147483647, not 1.50"
        );
    }

    #[test]
    fn a_long_value_is_named_by_what_it_is() {
        let long = "x".repeat(41);
        assert_eq!(
            refusal(json!({"pod_security": long})),
            "pod_security must be \"privileged\", \"baseline\" or \"restricted\", not a long string"
        );
        assert_eq!(
            refusal(json!({"read_only_root_filesystem": {"a": 1}})),
            "read_only_root_filesystem must be true or false, not an object"
        );
    }

    #[test]
    fn malformed_json_is_a_sentence() {
        assert!(
            Settings::from_json(b"{\"secure_pod_defaults\": ")
                .unwrap_err()
                .starts_with("the settings are not valid JSON: ")
        );
    }
}
