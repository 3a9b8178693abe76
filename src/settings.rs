//! The policy's settings: their names, defaults and the sentences that refuse
//! bad ones.
//!
//! Settings are read from a `serde_json::Value` by hand rather than through a
//! derived `Deserialize`, so every refusal is a sentence that names the key
//! and says what is allowed, instead of a serde error dump.

use serde_json::{Map, Value};

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

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    pub secure_pod_defaults: Level,
    /// Written as `runAsUser` where unset.
    pub run_as_user: Option<i64>,
    /// Written as `runAsGroup` where unset.
    pub run_as_group: Option<i64>,
    /// Written as `readOnlyRootFilesystem: true` on containers where unset.
    pub read_only_root_filesystem: bool,
}

/// Every settings key, in the order the README documents them.
pub const KEYS: [&str; 4] = [
    "secure_pod_defaults",
    "run_as_user",
    "run_as_group",
    "read_only_root_filesystem",
];

impl Settings {
    /// Reads settings from their JSON text, as the host sends them.
    pub fn from_json(text: &[u8]) -> Result<Settings, String> {
        let value: Value = serde_json::from_slice(text)
            .map_err(|error| format!("the settings are not valid JSON: {error}"))?;
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
                    describe(other)
                ));
            }
        };
        refuse_unknown_keys(map)?;

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
            read_only_root_filesystem: given(map, "read_only_root_filesystem")
                .map(|value| read_bool("read_only_root_filesystem", value))
                .transpose()?
                .unwrap_or(false),
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

fn given<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|value| !value.is_null())
}

fn refuse_unknown_keys(map: &Map<String, Value>) -> Result<(), String> {
    let mut unknown: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|key| !KEYS.contains(key))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    unknown.sort_unstable();
    let first = unknown[0];
    let hint = match suggestion(first) {
        Some(known) => format!(" (did you mean \"{known}\"?)"),
        None => String::new(),
    };
    let names = unknown
        .iter()
        .map(|key| format!("\"{key}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let noun = if unknown.len() == 1 {
        "setting"
    } else {
        "settings"
    };
    Err(format!(
        "unknown {noun} {names}{hint}; the settings are: {}",
        KEYS.join(", ")
    ))
}

/// The known key a mistyped one most likely meant: the same letters once
/// case, `-` and `_` are ignored (so camelCase and kebab-case spellings are
/// recognised).
fn suggestion(key: &str) -> Option<&'static str> {
    let squash = |text: &str| -> String {
        text.chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect()
    };
    let wanted = squash(key);
    KEYS.iter().copied().find(|known| squash(known) == wanted)
}

fn read_level(value: &Value) -> Result<Level, String> {
    let choices = "\"disabled\", \"root-allowed\" or \"enabled\"";
    let Value::String(text) = value else {
        return Err(format!(
            "secure_pod_defaults must be {choices}, not {}",
            describe(value)
        ));
    };
    Level::NAMES
        .iter()
        .find(|(name, _)| name == text)
        .map(|(_, level)| *level)
        .ok_or_else(|| format!("secure_pod_defaults must be {choices}, not \"{text}\""))
}

fn read_id(key: &str, value: &Value) -> Result<i64, String> {
    value
        .as_i64()
        .filter(|id| (0..=MAX_ID).contains(id))
        .ok_or_else(|| {
            format!(
                "{key} must be a whole number from 0 to {MAX_ID}, not {}",
                describe(value)
            )
        })
}

fn read_bool(key: &str, value: &Value) -> Result<bool, String> {
    value
        .as_bool()
        .ok_or_else(|| format!("{key} must be true or false, not {}", describe(value)))
}

/// A short description of a JSON value for a message: the value itself when
/// it is small, its type otherwise.
pub fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(_) | Value::Number(_) => value.to_string(),
        Value::String(text) if text.len() <= 40 => format!("\"{text}\""),
        Value::String(_) => "a long string".to_string(),
        Value::Array(_) => "a list".to_string(),
        Value::Object(_) => "an object".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refusal(settings: Value) -> String {
        Settings::from_value(&settings).unwrap_err()
    }

    #[test]
    fn empty_settings_mean_root_allowed() {
        let settings = Settings::from_value(&json!({})).unwrap();
        assert_eq!(settings.secure_pod_defaults, Level::RootAllowed);
        assert_eq!(settings, Settings::default());
        assert_eq!(Settings::from_value(&Value::Null).unwrap(), settings);
    }

    #[test]
    fn every_key_is_read() {
        let settings = Settings::from_value(&json!({
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
            }
        );
    }

    #[test]
    fn null_means_not_given() {
        let settings = Settings::from_value(&json!({"run_as_user": null})).unwrap();
        assert_eq!(settings.run_as_user, None);
    }

    #[test]
    fn unknown_keys_are_named_with_a_suggestion() {
        assert_eq!(
            refusal(json!({"securePodDefaults": "enabled"})),
            "unknown setting \"securePodDefaults\" (did you mean \"secure_pod_defaults\"?); \
             the settings are: secure_pod_defaults, run_as_user, run_as_group, \
             read_only_root_filesystem"
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
    fn root_uid_with_run_as_non_root_is_refused() {
        assert!(
            refusal(json!({"secure_pod_defaults": "enabled", "run_as_user": 0}))
                .starts_with("run_as_user is 0 while secure_pod_defaults is enabled")
        );
        assert!(
            Settings::from_value(&json!({"secure_pod_defaults": "root-allowed", "run_as_user": 0}))
                .is_ok()
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
