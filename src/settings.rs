//! The policy's settings: their names, defaults and the sentences that refuse
//! bad ones.
//!
//! Settings are read as JSON values ([`crate::value`]) by hand rather than
//! through a derived `Deserialize`, so every refusal is a sentence that names the key
//! and says what is allowed, instead of a serde error dump.

use crate::checks::{PssLevel, PssVersion};
use crate::scan::Scanner;
use crate::value::{Map, Value};

/// How much of Knative Serving's `secure-pod-defaults` to apply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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
    const NAMES: [(&'static str, Level); 3] = [
        ("disabled", Level::Disabled),
        ("root-allowed", Level::RootAllowed),
        ("enabled", Level::Enabled),
    ];

    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, level)| *level == self)
            .map(|(name, _)| *name)
            .unwrap_or("root-allowed")
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
    /// The Pod Security Standards level the defaulted object is checked
    /// against; `privileged` checks nothing.
    pub pod_security: PssLevel,
    pub pod_security_version: PssVersion,
    /// Never mutate: reject what defaulting would have changed.
    pub validate_only: bool,
    /// Every container must drop exactly `[ALL]` and add nothing.
    pub strict_capabilities: bool,
    pub exemptions: Exemptions,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            secure_pod_defaults: Level::default(),
            run_as_user: None,
            run_as_group: None,
            read_only_root_filesystem: false,
            pod_security: PssLevel::Privileged,
            pod_security_version: PssVersion::LATEST,
            validate_only: false,
            strict_capabilities: false,
            exemptions: Exemptions::default(),
        }
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
pub const KEYS: [&str; 9] = [
    "secure_pod_defaults",
    "run_as_user",
    "run_as_group",
    "read_only_root_filesystem",
    "pod_security",
    "pod_security_version",
    "validate_only",
    "strict_capabilities",
    "exemptions",
];

impl Settings {
    /// Reads settings from their JSON text, as the host sends them.
    pub fn from_json(text: &[u8]) -> Result<Settings, String> {
        let text = std::str::from_utf8(text)
            .map_err(|error| format!("the settings are not valid JSON: {error}"))?;
        let mut scanner = Scanner::new(text);
        let value = scanner
            .value()
            .and_then(|value| scanner.end().map(|()| value))
            .map_err(|_| format!("the settings are not valid JSON: {}", scanner.reason()))?;
        Settings::from_value(&value)
    }

    /// Reads and checks settings. `null` for the whole document or for one
    /// key means "not given".
    pub fn from_value(value: &Value) -> Result<Settings, String> {
        let map = match value {
            Value::Null => return Ok(Settings::default()),
            Value::Object(map) => map,
            other => {
                return Err(format!(
                    "the settings must be an object of key: value pairs, not {}",
                    other.describe()
                ));
            }
        };
        refuse_unknown_keys(map, &KEYS, "")?;

        let settings = Settings {
            secure_pod_defaults: match given(map, "secure_pod_defaults") {
                None => Level::default(),
                Some(value) => read_level(value)?,
            },
            run_as_user: given(map, "run_as_user")
                .map(|value| read_id("run_as_user", value))
                .transpose()?,
            run_as_group: given(map, "run_as_group")
                .map(|value| read_id("run_as_group", value))
                .transpose()?,
            read_only_root_filesystem: read_flag(map, "read_only_root_filesystem")?,
            pod_security: match given(map, "pod_security") {
                None => PssLevel::Privileged,
                Some(value) => read_pod_security(value)?,
            },
            pod_security_version: match given(map, "pod_security_version") {
                None => PssVersion::LATEST,
                Some(value) => read_pod_security_version(value)?,
            },
            validate_only: read_flag(map, "validate_only")?,
            strict_capabilities: read_flag(map, "strict_capabilities")?,
            exemptions: match given(map, "exemptions") {
                None => Exemptions::default(),
                Some(value) => read_exemptions(value)?,
            },
        };
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
        Ok(())
    }
}

fn given<'m, 'a>(map: &'m Map<'a>, key: &str) -> Option<&'m Value<'a>> {
    map.get(key).filter(|value| !value.is_null())
}

/// Refuses keys not in `known`; `parent` names the enclosing key, if any
/// (`exemptions.`).
fn refuse_unknown_keys(map: &Map, known: &[&'static str], parent: &str) -> Result<(), String> {
    let mut unknown: Vec<&str> = Vec::new();
    for key in map.keys() {
        if !known.contains(&key) {
            unknown.push(key);
        }
    }
    if unknown.is_empty() {
        return Ok(());
    }
    unknown.sort_unstable();
    let first = unknown[0];
    let hint = match suggestion(first, known) {
        Some(known) => format!(" (did you mean \"{known}\"?)"),
        None => String::new(),
    };
    let mut names = String::new();
    for key in &unknown {
        if !names.is_empty() {
            names.push_str(", ");
        }
        names.push('"');
        names.push_str(parent);
        names.push_str(key);
        names.push('"');
    }
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
        "unknown {noun} {names}{hint}; {scope}: {}",
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

fn read_level(value: &Value) -> Result<Level, String> {
    let choices = "\"disabled\", \"root-allowed\" or \"enabled\"";
    let Value::String(text) = value else {
        return Err(format!(
            "secure_pod_defaults must be {choices}, not {}",
            value.describe()
        ));
    };
    Level::NAMES
        .iter()
        .find(|(name, _)| name == text)
        .map(|(_, level)| *level)
        .ok_or_else(|| format!("secure_pod_defaults must be {choices}, not \"{text}\""))
}

fn read_pod_security(value: &Value) -> Result<PssLevel, String> {
    let choices = "\"privileged\", \"baseline\" or \"restricted\"";
    value
        .as_str()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| format!("pod_security must be {choices}, not {}", value.describe()))
}

fn read_pod_security_version(value: &Value) -> Result<PssVersion, String> {
    value
        .as_str()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| {
            let hint = if matches!(value, Value::Number(_)) {
                " (write the version as a string, such as \"v1.30\")"
            } else {
                ""
            };
            format!(
                "pod_security_version must be \"latest\" or a version from \"v1.0\" to \"v1.{}\", not {}{hint}",
                PssVersion::NEWEST_MINOR,
                value.describe()
            )
        })
}

fn read_exemptions(value: &Value) -> Result<Exemptions, String> {
    let Value::Object(map) = value else {
        return Err(format!(
            "exemptions must be an object with the keys {}, not {}",
            Exemptions::KEYS.join(", "),
            value.describe()
        ));
    };
    refuse_unknown_keys(map, &Exemptions::KEYS, "exemptions.")?;
    Ok(Exemptions {
        namespaces: read_names(map, "namespaces")?,
        usernames: read_names(map, "usernames")?,
        runtime_class_names: read_names(map, "runtime_class_names")?,
        images: read_names(map, "images")?,
    })
}

/// One list of `exemptions`: non-empty strings.
fn read_names(exemptions: &Map, key: &str) -> Result<Vec<String>, String> {
    let Some(value) = given(exemptions, key) else {
        return Ok(Vec::new());
    };
    let Some(items) = value.as_array() else {
        return Err(format!(
            "exemptions.{key} must be a list of non-empty strings, not {}",
            value.describe()
        ));
    };
    let mut names = Vec::with_capacity(items.len());
    for item in items {
        match item.as_str() {
            Some(text) if !text.is_empty() => names.push(text.to_owned()),
            _ => {
                return Err(format!(
                    "exemptions.{key} must be a list of non-empty strings; it holds {}",
                    item.describe()
                ));
            }
        }
    }
    Ok(names)
}

fn read_flag(map: &Map, key: &str) -> Result<bool, String> {
    given(map, key)
        .map(|value| read_bool(key, value))
        .transpose()
        .map(Option::unwrap_or_default)
}

fn read_id(key: &str, value: &Value) -> Result<i64, String> {
    value
        .as_i64()
        .filter(|id| (0..=MAX_ID).contains(id))
        .ok_or_else(|| {
            format!(
                "{key} must be a whole number from 0 to {MAX_ID}, not {}",
                value.describe()
            )
        })
}

fn read_bool(key: &str, value: &Value) -> Result<bool, String> {
    value
        .as_bool()
        .ok_or_else(|| format!("{key} must be true or false, not {}", value.describe()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn from_value(value: &Value) -> Result<Settings, String> {
        Settings::from_value(&crate::value::from_json(value))
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
             read_only_root_filesystem, pod_security, pod_security_version, validate_only, \
             strict_capabilities, exemptions"
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
    fn malformed_json_is_a_sentence() {
        assert!(
            Settings::from_json(b"{\"secure_pod_defaults\": ")
                .unwrap_err()
                .starts_with("the settings are not valid JSON: ")
        );
    }
}
