//! Where each default goes in the request's own text.
//!
//! The defaults are spliced into the object's text at the places serde
//! found them (each a [`RawValue`] borrowed from that text), so everything
//! else, fields this policy's Kubernetes version does not know included,
//! comes back byte for byte, and no tree of the object is ever built. The
//! values written are the typed fields the defaults set, serialized by
//! serde_json.

use crate::defaults::{Defaulted, UNPRIVILEGED_PORT_START};
use crate::podspec::Raw;
use k8s_openapi::api::core::v1::{SecurityContext, Sysctl};
use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// Edits to one text, applied together.
pub struct Splicer<'a> {
    base: &'a str,
    edits: Vec<Edit>,
}

/// The text `text` in place of the bytes `start..end` of the base (an
/// insertion when they are equal).
struct Edit {
    start: usize,
    end: usize,
    text: String,
}

impl<'a> Splicer<'a> {
    pub fn new(base: &'a str) -> Splicer<'a> {
        Splicer {
            base,
            edits: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// Where `value`, a value borrowed from the base, starts in it.
    fn offset(&self, value: &RawValue) -> Result<usize, String> {
        let offset = (value.get().as_ptr() as usize).wrapping_sub(self.base.as_ptr() as usize);
        if offset + value.get().len() <= self.base.len() {
            Ok(offset)
        } else {
            Err("the defaults could not be written into the object".to_owned())
        }
    }

    /// Replaces `old` with `text`.
    pub fn replace(&mut self, old: &RawValue, text: String) -> Result<(), String> {
        let start = self.offset(old)?;
        self.edits.push(Edit {
            start,
            end: start + old.get().len(),
            text,
        });
        Ok(())
    }

    /// Adds `"key":value` fields to the object `object` just before its
    /// closing brace.
    pub fn add_fields(
        &mut self,
        object: &RawValue,
        fields: &[(&'static str, String)],
    ) -> Result<(), String> {
        if fields.is_empty() {
            return Ok(());
        }
        let text = object.get();
        let closing_brace = self.offset(object)? + text.len() - 1;
        let mut inserted = String::new();
        let mut separator = match text[1..text.len() - 1].trim().is_empty() {
            true => "",
            false => ",",
        };
        for (key, value) in fields {
            inserted.push_str(separator);
            inserted.push_str(&serde_json::to_string(key).map_err(|error| error.to_string())?);
            inserted.push(':');
            inserted.push_str(value);
            separator = ",";
        }
        self.edits.push(Edit {
            start: closing_brace,
            end: closing_brace,
            text: inserted,
        });
        Ok(())
    }

    /// Adds the items of the list `items` (JSON text) at the end of the list
    /// `list`, a value borrowed from the base.
    pub fn append_items(&mut self, list: &RawValue, items: &str) -> Result<(), String> {
        fn inner(list: &str) -> &str {
            list.get(1..list.len() - 1).unwrap_or_default().trim()
        }
        let text = list.get();
        if !text.starts_with('[') || !items.starts_with('[') {
            return Err("the defaults could not be written into the object".to_owned());
        }
        let closing_bracket = self.offset(list)? + text.len() - 1;
        let separator = if inner(text).is_empty() { "" } else { "," };
        self.edits.push(Edit {
            start: closing_bracket,
            end: closing_bracket,
            text: format!("{separator}{}", inner(items)),
        });
        Ok(())
    }

    /// The base with every edit applied.
    pub fn apply(mut self) -> String {
        // No two edits start at one offset: a replaced value starts with
        // its first character, an insertion sits on the `}` or `]` that
        // closes its object or list, and each is edited once.
        self.edits.sort_unstable_by_key(|edit| edit.start);
        let added: usize = self.edits.iter().map(|edit| edit.text.len()).sum();
        let mut out = String::with_capacity(self.base.len() + added);
        let mut copied_up_to = 0;
        for edit in &self.edits {
            out.push_str(&self.base[copied_up_to..edit.start]);
            out.push_str(&edit.text);
            copied_up_to = edit.end;
        }
        out.push_str(&self.base[copied_up_to..]);
        out
    }
}

/// A value as JSON text.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<String, String> {
    serde_json::to_string(value).map_err(|error| error.to_string())
}

/// The defaulted fields of a container's securityContext, as its keys and
/// their new values.
pub fn container_fields(
    defaulted: &[Defaulted],
    security_context: &SecurityContext,
) -> Result<Vec<(&'static str, String)>, String> {
    let mut fields = Vec::with_capacity(defaulted.len());
    for field in defaulted {
        let text = match field {
            Defaulted::AllowPrivilegeEscalation => {
                json(&security_context.allow_privilege_escalation)?
            }
            Defaulted::SeccompProfile => json(&security_context.seccomp_profile)?,
            Defaulted::CapabilitiesDrop => json(&security_context.capabilities)?,
            // Written with the drop, in the same `capabilities`.
            Defaulted::CapabilitiesAddNetBindService => continue,
            Defaulted::RunAsNonRoot => json(&security_context.run_as_non_root)?,
            Defaulted::ReadOnlyRootFilesystem => json(&security_context.read_only_root_filesystem)?,
            Defaulted::RunAsUser(uid) => json(uid)?,
            Defaulted::RunAsGroup(gid) => json(gid)?,
            // A pod-level default (see `pod_fields`).
            Defaulted::UnprivilegedPortStart(_) => continue,
        };
        fields.push((field.field(), text));
    }
    Ok(fields)
}

/// The defaulted fields of the pod's securityContext, as its keys and their
/// new values. The sysctl is the list of the entries added, which
/// [`write_fields`] appends to a list the pod already has.
pub fn pod_fields(defaulted: &[Defaulted]) -> Result<Vec<(&'static str, String)>, String> {
    let mut fields = Vec::with_capacity(defaulted.len());
    for field in defaulted {
        let text = match field {
            Defaulted::RunAsUser(id) | Defaulted::RunAsGroup(id) => json(id)?,
            // Written out rather than serialized: the name needs no escaping.
            Defaulted::UnprivilegedPortStart(port) => {
                format!(r#"[{{"name":"{UNPRIVILEGED_PORT_START}","value":"{port}"}}]"#)
            }
            _ => continue,
        };
        fields.push((field.field(), text));
    }
    Ok(fields)
}

/// The sysctl entry that lets non-root processes bind ports from `port` up.
pub fn unprivileged_port_start(port: i32) -> Sysctl {
    Sysctl {
        name: UNPRIVILEGED_PORT_START.to_owned(),
        value: port.to_string(),
    }
}

/// Writes a securityContext's defaulted `fields` into the text: into the
/// securityContext `existing` when it is an object, or as the whole
/// securityContext `whole` in place of a `null` one, or as a new field of
/// `owner` (the container, or the pod spec) when it has none.
pub fn write_security_context<'a>(
    splicer: &mut Splicer<'a>,
    owner: &'a RawValue,
    existing: Raw<'a>,
    whole: &impl Serialize,
    fields: &[(&'static str, String)],
) -> Result<(), String> {
    match (existing.0, existing.set()) {
        (_, Some(object)) => write_fields(splicer, object, fields),
        (Some(null), None) => splicer.replace(null, json(whole)?),
        (None, _) => splicer.add_fields(owner, &[("securityContext", json(whole)?)]),
    }
}

/// Writes `fields` into the object `object`: a field it holds as `null` is
/// replaced, a missing one added. A seccompProfile it holds (with an empty
/// type, or defaulting would not have written it) gets only its type, so
/// its other keys stay; a sysctls list it holds gets the new entries after
/// its own.
fn write_fields<'a>(
    splicer: &mut Splicer<'a>,
    object: &'a RawValue,
    fields: &[(&'static str, String)],
) -> Result<(), String> {
    let present: BTreeMap<String, &'a RawValue> =
        serde_json::from_slice(object.get().as_bytes()).map_err(|error| error.to_string())?;
    let mut added = Vec::new();
    for (key, text) in fields {
        match present.get(*key) {
            Some(profile) if *key == "seccompProfile" && profile.get() != "null" => {
                write_fields(splicer, profile, &[("type", json("RuntimeDefault")?)])?
            }
            Some(list) if *key == "sysctls" && list.get() != "null" => {
                splicer.append_items(list, text)?
            }
            Some(old) => splicer.replace(old, text.clone())?,
            None => added.push((*key, text.clone())),
        }
    }
    splicer.add_fields(object, &added)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> &RawValue {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn fields_are_added_before_the_closing_brace_and_nulls_replaced() {
        let base = r#"{"a": {"x": null, "n": 1.50}, "b": { }}"#;
        let object: BTreeMap<String, &RawValue> = serde_json::from_str(base).unwrap();
        let mut splicer = Splicer::new(base);
        let fields = [("x", "true".to_owned()), ("y", "2".to_owned())];
        write_fields(&mut splicer, object["a"], &fields).unwrap();
        splicer.add_fields(object["b"], &fields).unwrap();
        assert_eq!(
            splicer.apply(),
            r#"{"a": {"x": true, "n": 1.50,"y":2}, "b": { "x":true,"y":2}}"#
        );
    }

    #[test]
    fn a_seccomp_profile_gets_only_its_type() {
        let base = r#"{"seccompProfile": {"type": "", "future": [1]}}"#;
        let mut splicer = Splicer::new(base);
        let profile = r#"{"type":"RuntimeDefault"}"#.to_owned();
        let object: &RawValue = serde_json::from_str(base).unwrap();
        write_fields(&mut splicer, object, &[("seccompProfile", profile)]).unwrap();
        assert_eq!(
            splicer.apply(),
            r#"{"seccompProfile": {"type": "RuntimeDefault", "future": [1]}}"#
        );
    }

    #[test]
    fn a_sysctl_is_appended_to_the_pod_list_or_added_with_it() {
        let fields = pod_fields(&[
            Defaulted::RunAsUser(65534),
            Defaulted::UnprivilegedPortStart(80),
        ])
        .unwrap();
        let added = r#"[{"name":"net.ipv4.ip_unprivileged_port_start","value":"80"}]"#;
        assert_eq!(
            fields,
            [
                ("runAsUser", "65534".to_owned()),
                ("sysctls", added.to_owned())
            ]
        );
        for (base, written) in [
            (
                r#"{"sysctls": [{"name": "kernel.shm_rmid_forced", "value": "1"}]}"#,
                r#"{"sysctls": [{"name": "kernel.shm_rmid_forced", "value": "1"},{"name":"net.ipv4.ip_unprivileged_port_start","value":"80"}],"runAsUser":65534}"#,
            ),
            (
                r#"{"sysctls": [ ]}"#,
                r#"{"sysctls": [ {"name":"net.ipv4.ip_unprivileged_port_start","value":"80"}],"runAsUser":65534}"#,
            ),
            (
                r#"{"sysctls": null}"#,
                r#"{"sysctls": [{"name":"net.ipv4.ip_unprivileged_port_start","value":"80"}],"runAsUser":65534}"#,
            ),
        ] {
            let mut splicer = Splicer::new(base);
            write_fields(&mut splicer, raw(base), &fields).unwrap();
            assert_eq!(splicer.apply(), written);
        }
    }

    #[test]
    fn a_value_from_another_text_is_refused() {
        let mut splicer = Splicer::new("{}");
        let elsewhere = raw("[1, 2, 3, 4]");
        assert!(splicer.replace(elsewhere, "0".to_owned()).is_err());
    }
}
