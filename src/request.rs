//! The waPC payload: the settings and the Kubernetes AdmissionRequest, read
//! without copying the object (it stays a raw slice of the payload). A new
//! object's pod template is read in the same pass
//! ([`parse_with_template`]).
//!
//! Field names are accepted both in the AdmissionRequest's camelCase and in
//! snake_case, as the SDK's `KubernetesAdmissionRequest` accepts them.

use crate::json::{self, Key};
use crate::podspec::{PodTemplate, TemplateState};
use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

#[derive(Deserialize)]
pub struct Payload<'a> {
    #[serde(borrow, default)]
    pub settings: Option<&'a RawValue>,
    #[serde(borrow)]
    pub request: Request<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Request<'a> {
    #[serde(borrow)]
    pub uid: Cow<'a, str>,
    #[serde(borrow)]
    pub kind: GroupVersionKind<'a>,
    #[serde(borrow, alias = "subResource")]
    pub sub_resource: Cow<'a, str>,
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    #[serde(borrow)]
    pub namespace: Cow<'a, str>,
    #[serde(borrow)]
    pub operation: Cow<'a, str>,
    #[serde(borrow, alias = "userInfo")]
    pub user_info: UserInfo<'a>,
    #[serde(borrow)]
    pub object: Option<&'a RawValue>,
    #[serde(borrow, alias = "oldObject")]
    pub old_object: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct GroupVersionKind<'a> {
    #[serde(borrow)]
    pub group: Cow<'a, str>,
    #[serde(borrow)]
    pub version: Cow<'a, str>,
    #[serde(borrow)]
    pub kind: Cow<'a, str>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct UserInfo<'a> {
    #[serde(borrow)]
    pub username: Cow<'a, str>,
}

/// Reads the payload, or says in one sentence why it cannot be read.
pub fn parse(payload: &[u8]) -> Result<Payload<'_>, String> {
    let text = std::str::from_utf8(payload)
        .map_err(|error| format!("the admission request cannot be read: {error}"))?;
    serde_json::from_str(text).map_err(|error| {
        let reason = error
            .to_string()
            .replace("struct Payload", "an object with settings and request")
            .replace("struct Request", "an AdmissionRequest object")
            .replace("struct GroupVersionKind", "a group, version and kind")
            .replace("struct UserInfo", "a userInfo object");
        format!("the admission request cannot be read: {reason}")
    })
}

/// The payload of a new object's admission read in one pass, with its pod
/// template: `template_path` says where a kind keeps it (`None` for kinds
/// without one). `None` when the payload is not that (another operation, a
/// kind read after the object) or cannot be read: [`parse`] and a read of
/// the object then tell.
///
/// Most admitted objects need no change, and such an object is then read
/// once, not once to find its end and once more for its template. The text
/// of the object itself, needed only to write a changed copy, is left
/// unknown ([`Request::object`] is `None`).
pub fn parse_with_template<'a>(
    payload: &'a [u8],
    template_path: fn(&str, &str) -> Option<&'static [&'static str]>,
) -> Option<(Payload<'a>, Option<PodTemplate<'a>>, Option<&'a str>)> {
    let text = std::str::from_utf8(payload).ok()?;
    let state = TemplateState::default();
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let mut payload_seed = PayloadSeed {
        text,
        template_path,
        state: &state,
        read: None,
        object_text: None,
    };
    let (settings, request) = (&mut payload_seed).deserialize(&mut deserializer).ok()?;
    deserializer.end().ok()?;
    // Not a new object; or a second `object` key, which the usual read
    // refuses.
    if request.operation != "CREATE" || !request.sub_resource.is_empty() || request.object.is_some()
    {
        return None;
    }
    let object_text = payload_seed.object_text;
    let (template_path, root) = payload_seed.read?;
    Some((
        Payload { settings, request },
        root.and_then(|root| state.finish(root, template_path)),
        object_text,
    ))
}

struct PayloadSeed<'s, 'a> {
    text: &'a str,
    /// The object's text, found from the keys around it (when they are
    /// plain slices of the text).
    object_text: Option<&'a str>,
    template_path: fn(&str, &str) -> Option<&'static [&'static str]>,
    state: &'s TemplateState<'a>,
    /// The template path used and what was read of the object (`None` when
    /// it was `null`), once it has been read.
    read: Option<(&'static [&'static str], Option<crate::value::Value<'a>>)>,
}

impl<'a> DeserializeSeed<'a> for &mut PayloadSeed<'_, 'a> {
    type Value = (Option<&'a RawValue>, Request<'a>);

    fn deserialize<D: Deserializer<'a>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'a> Visitor<'a> for &mut PayloadSeed<'_, 'a> {
    type Value = (Option<&'a RawValue>, Request<'a>);

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an object with settings and request")
    }

    fn visit_map<M: MapAccess<'a>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let mut settings = None;
        let mut request = None;
        while let Some(Key(key)) = map.next_key()? {
            match key.as_ref() {
                "settings" => settings = map.next_value()?,
                "request" => request = Some(map.next_value_seed(RequestSeed { payload: self })?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let request = request.ok_or_else(|| serde::de::Error::missing_field("request"))?;
        Ok((settings, request))
    }
}

struct RequestSeed<'p, 's, 'a> {
    payload: &'p mut PayloadSeed<'s, 'a>,
}

impl<'a> DeserializeSeed<'a> for RequestSeed<'_, '_, 'a> {
    type Value = Request<'a>;

    fn deserialize<D: Deserializer<'a>>(self, deserializer: D) -> Result<Request<'a>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'a> Visitor<'a> for RequestSeed<'_, '_, 'a> {
    type Value = Request<'a>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an AdmissionRequest object")
    }

    fn visit_map<M: MapAccess<'a>>(self, mut map: M) -> Result<Request<'a>, M::Error> {
        let mut request = Request::default();
        let text = self.payload.text;
        // Where the object read on the way starts, until the next key says
        // where it ends.
        let mut object_start = None;
        while let Some(Key(key)) = map.next_key()? {
            if let Some(start) = object_start.take() {
                self.payload.object_text = match &key {
                    Cow::Borrowed(key) => json::value_end_before_key(text, key)
                        .and_then(|end| text.get(start..end))
                        .filter(|object| object.starts_with('{') && object.ends_with('}')),
                    Cow::Owned(_) => None,
                };
            }
            match key.as_ref() {
                "uid" => request.uid = map.next_value()?,
                "kind" => request.kind = map.next_value()?,
                "subResource" | "sub_resource" => request.sub_resource = map.next_value()?,
                "name" => request.name = map.next_value()?,
                "namespace" => request.namespace = map.next_value()?,
                "operation" => request.operation = map.next_value()?,
                "userInfo" | "user_info" => request.user_info = map.next_value()?,
                "oldObject" | "old_object" => request.old_object = map.next_value()?,
                "object" => {
                    // The operation may come later (keys in alphabetical
                    // order): read as for a CREATE, and given up otherwise.
                    let template_path =
                        (self.payload.template_path)(&request.kind.group, &request.kind.kind);
                    match template_path {
                        // Read once: the template on the way.
                        Some(path) if self.payload.read.is_none() => {
                            if let Cow::Borrowed(key) = &key {
                                object_start = json::value_start_after_key(text, key);
                            }
                            let root: Option<crate::value::Value<'a>> =
                                map.next_value_seed(OptionalSeed(self.payload.state.seed(path)))?;
                            self.payload.read = Some((path, root));
                        }
                        _ => request.object = map.next_value()?,
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(request)
    }
}

/// `null` as `None`, anything else read by the seed.
struct OptionalSeed<S>(S);

impl<'a, S: DeserializeSeed<'a>> DeserializeSeed<'a> for OptionalSeed<S> {
    type Value = Option<S::Value>;

    fn deserialize<D: Deserializer<'a>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'a, S: DeserializeSeed<'a>> Visitor<'a> for OptionalSeed<S> {
    type Value = Option<S::Value>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'a>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(deserializer).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_and_snake_case_are_both_read() {
        let camel = br#"{"settings": {}, "request": {"uid": "1", "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "subResource": "scale", "operation": "UPDATE", "userInfo": {"username": "alice"},
            "object": {"a": 1}, "oldObject": null, "dryRun": false, "options": {}}}"#;
        let payload = parse(camel).unwrap();
        assert_eq!(payload.request.kind.kind, "Deployment");
        assert_eq!(payload.request.sub_resource, "scale");
        assert_eq!(payload.request.user_info.username, "alice");
        assert_eq!(payload.request.object.unwrap().get(), r#"{"a": 1}"#);
        assert!(payload.request.old_object.is_none());

        let snake = br#"{"request": {"sub_resource": "status", "user_info": {"username": "bob"}, "old_object": {}}}"#;
        let payload = parse(snake).unwrap();
        assert_eq!(payload.request.sub_resource, "status");
        assert_eq!(payload.request.user_info.username, "bob");
        assert!(payload.request.old_object.is_some());
    }

    #[test]
    fn unreadable_payloads_are_explained() {
        assert!(
            parse(b"{")
                .err()
                .unwrap()
                .starts_with("the admission request cannot be read: ")
        );
        assert!(
            parse(b"{}")
                .err()
                .unwrap()
                .contains("missing field `request`")
        );
    }
}
