//! The waPC payload: the settings and the Kubernetes AdmissionRequest, read
//! without copying the object (it stays a slice of the payload). A new
//! object's pod template is read in the same pass ([`parse_with_template`]).
//!
//! Field names are accepted both in the AdmissionRequest's camelCase and in
//! snake_case, as the SDK's `KubernetesAdmissionRequest` accepts them.

use crate::podspec::{PodTemplate, TemplateReader};
use crate::scan::{Scanned, Scanner};
use crate::value::same_key;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use std::borrow::Cow;

#[derive(Deserialize)]
pub struct Payload<'a> {
    #[serde(borrow, default, deserialize_with = "raw_text")]
    pub settings: Option<&'a str>,
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
    /// The object's text; `None` when absent or `null`.
    #[serde(borrow, deserialize_with = "raw_text")]
    pub object: Option<&'a str>,
    #[serde(borrow, alias = "oldObject", deserialize_with = "raw_text")]
    pub old_object: Option<&'a str>,
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

/// A JSON value left as its text; `null` as `None`.
fn raw_text<'de: 'a, 'a, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<&'a str>, D::Error> {
    let raw = Option::<&'de RawValue>::deserialize(deserializer)?;
    Ok(raw.map(RawValue::get).filter(|text| *text != "null"))
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
/// without one). `None` when the payload is not that (another operation)
/// or is anything [`parse`] would refuse or read differently (a repeated
/// field, a field of the wrong type, a pod template that cannot be read):
/// [`parse`] and a read of the object then tell.
///
/// Most admitted objects need no change, and such an object is then read
/// once, not once to find its end and once more for its template.
pub fn parse_with_template(
    payload: &[u8],
    template_path: fn(&str, &str) -> Option<&'static [&'static str]>,
) -> Option<(Payload<'_>, Option<PodTemplate<'_>>)> {
    let text = std::str::from_utf8(payload).ok()?;
    let mut scanner = Scanner::new(text);
    let (payload, template) = read_payload(&mut scanner, template_path).ok()??;
    scanner.end().ok()?;
    let request = &payload.request;
    if request.operation != "CREATE" || !request.sub_resource.is_empty() {
        return None;
    }
    let template = match (template, request.object) {
        (Some(template), _) => template,
        // The kind came after the object: its template is read now.
        (None, Some(object)) => match template_path(&request.kind.group, &request.kind.kind) {
            Some(path) => {
                let mut scanner = Scanner::new(object);
                TemplateReader::default()
                    .read_object(&mut scanner, path)
                    .ok()?
            }
            None => None,
        },
        (None, None) => None,
    };
    Some((payload, template))
}

/// The payload's fields, as `parse` reads them; `Ok(None)` when a field is
/// repeated or of a type `parse` refuses.
#[allow(clippy::type_complexity)]
fn read_payload<'a>(
    scanner: &mut Scanner<'a>,
    template_path: fn(&str, &str) -> Option<&'static [&'static str]>,
) -> Scanned<Option<(Payload<'a>, Option<Option<PodTemplate<'a>>>)>> {
    let mut settings = None;
    let mut seen = Seen::default();
    let mut request = None;
    let mut fields = scanner.fields()?;
    while let Some(key) = fields.next(scanner)? {
        match key.as_ref() {
            "settings" if seen.first(0) => settings = raw(scanner)?,
            "request" if request.is_none() => match read_request(scanner, template_path)? {
                Some(read) => request = Some(read),
                None => return Ok(None),
            },
            "settings" | "request" => return Ok(None),
            _ => scanner.skip()?,
        }
    }
    Ok(request.map(|(request, template)| (Payload { settings, request }, template)))
}

/// Which of an object's few known fields (by their number) were read.
#[derive(Default)]
struct Seen(u32);

impl Seen {
    /// Whether field `number` is read for the first time (and notes it).
    fn first(&mut self, number: usize) -> bool {
        let bit = 1 << number;
        let first = self.0 & bit == 0;
        self.0 |= bit;
        first
    }
}

/// A value as its text; `null` as `None`.
fn raw<'a>(scanner: &mut Scanner<'a>) -> Scanned<Option<&'a str>> {
    let start = scanner.start();
    scanner.skip()?;
    Ok(Some(scanner.since(start)).filter(|text| *text != "null"))
}

/// A string field; `None` for anything else, which `parse` refuses.
fn string<'a>(scanner: &mut Scanner<'a>) -> Scanned<Option<Cow<'a, str>>> {
    if scanner.peek()? != b'"' {
        return Ok(None);
    }
    scanner.string().map(Some)
}

/// The AdmissionRequest, and its object's template when the kind came
/// before the object and has one.
#[allow(clippy::type_complexity)]
fn read_request<'a>(
    scanner: &mut Scanner<'a>,
    template_path: fn(&str, &str) -> Option<&'static [&'static str]>,
) -> Scanned<Option<(Request<'a>, Option<Option<PodTemplate<'a>>>)>> {
    if scanner.peek()? != b'{' {
        return Ok(None);
    }
    let mut request = Request::default();
    let mut template = None;
    let mut seen = Seen::default();
    let mut fields = scanner.fields()?;
    while let Some(key) = fields.next(scanner)? {
        let Some(field) = RequestField::named(&key) else {
            scanner.skip()?;
            continue;
        };
        if !seen.first(field as usize) {
            return Ok(None);
        }
        let target = match field {
            RequestField::Uid => &mut request.uid,
            RequestField::SubResource => &mut request.sub_resource,
            RequestField::Name => &mut request.name,
            RequestField::Namespace => &mut request.namespace,
            RequestField::Operation => &mut request.operation,
            RequestField::Kind => match read_kind(scanner)? {
                Some(kind) => {
                    request.kind = kind;
                    continue;
                }
                None => return Ok(None),
            },
            RequestField::UserInfo => match read_fields(scanner, &["username"])? {
                Some([username]) => {
                    request.user_info.username = username;
                    continue;
                }
                None => return Ok(None),
            },
            RequestField::OldObject => {
                request.old_object = raw(scanner)?;
                continue;
            }
            RequestField::Object => {
                // Its template is read on the way when the kind is known by
                // now (the operation may come later, and is checked at the
                // end).
                let start = scanner.start();
                match template_path(&request.kind.group, &request.kind.kind) {
                    Some(path) => {
                        template = Some(TemplateReader::default().read_object(scanner, path)?)
                    }
                    None => scanner.skip()?,
                }
                request.object = Some(scanner.since(start)).filter(|text| *text != "null");
                continue;
            }
        };
        match string(scanner)? {
            Some(text) => *target = text,
            None => return Ok(None),
        }
    }
    Ok(Some((request, template)))
}

/// The AdmissionRequest fields the policy reads.
#[derive(Clone, Copy)]
enum RequestField {
    Uid,
    Kind,
    SubResource,
    Name,
    Namespace,
    Operation,
    UserInfo,
    Object,
    OldObject,
}

impl RequestField {
    /// The field a key names, in camelCase or in snake_case.
    fn named(key: &str) -> Option<RequestField> {
        Some(match key {
            "uid" => RequestField::Uid,
            "kind" => RequestField::Kind,
            "subResource" | "sub_resource" => RequestField::SubResource,
            "name" => RequestField::Name,
            "namespace" => RequestField::Namespace,
            "operation" => RequestField::Operation,
            "userInfo" | "user_info" => RequestField::UserInfo,
            "object" => RequestField::Object,
            "oldObject" | "old_object" => RequestField::OldObject,
            _ => return None,
        })
    }
}

fn read_kind<'a>(scanner: &mut Scanner<'a>) -> Scanned<Option<GroupVersionKind<'a>>> {
    Ok(
        read_fields(scanner, &["group", "version", "kind"])?.map(|[group, version, kind]| {
            GroupVersionKind {
                group,
                version,
                kind,
            }
        }),
    )
}

/// The string fields `names` of an object (empty when absent), every other
/// field skipped; `None` when it is not an object, or a field is repeated
/// or not a string.
fn read_fields<'a, const N: usize>(
    scanner: &mut Scanner<'a>,
    names: &[&'static str; N],
) -> Scanned<Option<[Cow<'a, str>; N]>> {
    if scanner.peek()? != b'{' {
        return Ok(None);
    }
    let mut values: [Cow<'a, str>; N] = std::array::from_fn(|_| Cow::Borrowed(""));
    let mut seen = Seen::default();
    let mut fields = scanner.fields()?;
    while let Some(key) = fields.next(scanner)? {
        let Some(index) = names.iter().position(|name| same_key(name, &key)) else {
            scanner.skip()?;
            continue;
        };
        if !seen.first(index) {
            return Ok(None);
        }
        match string(scanner)? {
            Some(text) => values[index] = text,
            None => return Ok(None),
        }
    }
    Ok(Some(values))
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
        assert_eq!(payload.request.object, Some(r#"{"a": 1}"#));
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
