//! The waPC payload: the settings and the Kubernetes AdmissionRequest, read
//! by the scanner without copying the object (it stays a slice of the
//! payload). A new object's pod template is read in the same pass.
//!
//! Field names are accepted both in the AdmissionRequest's camelCase and in
//! snake_case, as the SDK's `KubernetesAdmissionRequest` accepts them.

use crate::podspec::{PodTemplate, TemplateReader};
use crate::scan::{ScanError, Scanned, Scanner};
use crate::value::same_key;
use std::borrow::Cow;

pub struct Payload<'a> {
    /// The settings' text; `None` when absent or `null`.
    pub settings: Option<&'a str>,
    pub request: Request<'a>,
}

#[derive(Default)]
pub struct Request<'a> {
    pub uid: Cow<'a, str>,
    pub kind: GroupVersionKind<'a>,
    pub sub_resource: Cow<'a, str>,
    pub name: Cow<'a, str>,
    pub namespace: Cow<'a, str>,
    pub operation: Cow<'a, str>,
    pub user_info: UserInfo<'a>,
    /// The object's text; `None` when absent or `null`.
    pub object: Option<&'a str>,
    pub old_object: Option<&'a str>,
}

#[derive(Default)]
pub struct GroupVersionKind<'a> {
    pub group: Cow<'a, str>,
    pub version: Cow<'a, str>,
    pub kind: Cow<'a, str>,
}

#[derive(Default)]
pub struct UserInfo<'a> {
    pub username: Cow<'a, str>,
}

/// Where a kind keeps its pod template (`None` for kinds without one).
pub type TemplatePath = fn(&str, &str) -> Option<&'static [&'static str]>;

/// Why a payload was not read.
enum Unread {
    /// The payload is not an admission request: one sentence says why.
    Refused(String),
    /// The object's pod template cannot be read: reading the payload
    /// without it lets the template's own reader say why.
    Template,
}

/// Reads the payload, or says in one sentence why it is not an admission
/// request. With `template_path`, the pod template of a new object is read
/// on the way (`None` for any other request, or an object without one):
/// most admitted objects need no change, and such an object is then read
/// once. A template that cannot be read is left out, for the template's own
/// reader to say why.
pub fn read(
    payload: &[u8],
    template_path: Option<TemplatePath>,
) -> Result<(Payload<'_>, Option<PodTemplate<'_>>), String> {
    match read_once(payload, template_path) {
        Ok(read) => Ok(read),
        Err(Unread::Refused(message)) => Err(message),
        // Read again without it; that read gives up on no template.
        Err(Unread::Template) => read(payload, None),
    }
}

fn read_once(
    payload: &[u8],
    template_path: Option<TemplatePath>,
) -> Result<(Payload<'_>, Option<PodTemplate<'_>>), Unread> {
    let refused =
        |reason: &str| Unread::Refused(format!("the admission request cannot be read: {reason}"));
    let text = std::str::from_utf8(payload).map_err(|error| refused(&error.to_string()))?;
    let mut scanner = Scanner::new(text);
    let mut reader = PayloadReader {
        template_path,
        template: None,
        template_unread: false,
    };
    let read = reader
        .payload(&mut scanner)
        .and_then(|payload| scanner.end().map(|()| payload));
    if reader.template_unread {
        return Err(Unread::Template);
    }
    let payload = read.map_err(|_| refused(scanner.reason()))?;
    let request = &payload.request;
    let new_object = request.operation == "CREATE" && request.sub_resource.is_empty();
    let template = match (template_path, reader.template) {
        (Some(_), Some(template)) if new_object => template,
        // The kind came after the object: its template is read now.
        (Some(template_path), None) if new_object => {
            match (
                request.object,
                template_path(&request.kind.group, &request.kind.kind),
            ) {
                (Some(object), Some(path)) => TemplateReader::default()
                    .read_object(&mut Scanner::new(object), path)
                    .map_err(|_| Unread::Template)?,
                _ => None,
            }
        }
        _ => None,
    };
    Ok((payload, template))
}

struct PayloadReader<'a> {
    template_path: Option<TemplatePath>,
    /// The object's template, once read.
    template: Option<Option<PodTemplate<'a>>>,
    /// The template could not be read (the error is the template's).
    template_unread: bool,
}

/// Which of an object's few known fields (by their number) were read.
#[derive(Default)]
struct Seen(u32);

impl Seen {
    /// Refuses a field read before, as serde refuses a repeated field.
    fn first(&mut self, scanner: &mut Scanner, number: usize, key: &str) -> Scanned<()> {
        let bit = 1 << number;
        if self.0 & bit != 0 {
            return Err(scanner.type_error(format!("duplicate field `{key}`")));
        }
        self.0 |= bit;
        Ok(())
    }
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

impl<'a> PayloadReader<'a> {
    fn payload(&mut self, scanner: &mut Scanner<'a>) -> Scanned<Payload<'a>> {
        expect_object(scanner, "an object with settings and request")?;
        let mut settings = None;
        let mut request = None;
        let mut seen = Seen::default();
        let mut fields = scanner.fields()?;
        while let Some(key) = fields.next(scanner)? {
            if same_key(&key, "settings") {
                seen.first(scanner, 0, &key)?;
                settings = raw(scanner)?;
            } else if same_key(&key, "request") {
                seen.first(scanner, 1, &key)?;
                request = Some(self.request(scanner)?);
            } else {
                scanner.skip()?;
            }
        }
        match request {
            Some(request) => Ok(Payload { settings, request }),
            None => Err(scanner.type_error("missing field `request`".to_owned())),
        }
    }

    fn request(&mut self, scanner: &mut Scanner<'a>) -> Scanned<Request<'a>> {
        expect_object(scanner, "an AdmissionRequest object")?;
        let mut request = Request::default();
        let mut seen = Seen::default();
        let mut fields = scanner.fields()?;
        while let Some(key) = fields.next(scanner)? {
            let Some(field) = RequestField::named(&key) else {
                scanner.skip()?;
                continue;
            };
            seen.first(scanner, field as usize, &key)?;
            let target = match field {
                RequestField::Uid => &mut request.uid,
                RequestField::SubResource => &mut request.sub_resource,
                RequestField::Name => &mut request.name,
                RequestField::Namespace => &mut request.namespace,
                RequestField::Operation => &mut request.operation,
                RequestField::Kind => {
                    expect_object(scanner, "a group, version and kind")?;
                    let [group, version, kind] =
                        string_fields(scanner, &["group", "version", "kind"])?;
                    request.kind = GroupVersionKind {
                        group,
                        version,
                        kind,
                    };
                    continue;
                }
                RequestField::UserInfo => {
                    expect_object(scanner, "a userInfo object")?;
                    let [username] = string_fields(scanner, &["username"])?;
                    request.user_info.username = username;
                    continue;
                }
                RequestField::OldObject => {
                    request.old_object = raw(scanner)?;
                    continue;
                }
                RequestField::Object => {
                    request.object = self.object(scanner, &request.kind)?;
                    continue;
                }
            };
            *target = string(scanner)?;
        }
        Ok(request)
    }

    /// The object's text, and its template on the way when the kind is
    /// known by now (the operation may come later, and is checked at the
    /// end).
    fn object(
        &mut self,
        scanner: &mut Scanner<'a>,
        kind: &GroupVersionKind,
    ) -> Scanned<Option<&'a str>> {
        let path = self
            .template_path
            .and_then(|template_path| template_path(&kind.group, &kind.kind));
        let start = scanner.start();
        match path {
            Some(path) => match TemplateReader::default().read_object(scanner, path) {
                Ok(template) => self.template = Some(template),
                Err(ScanError::Syntax) => return Err(ScanError::Syntax),
                Err(error) => {
                    self.template_unread = true;
                    return Err(error);
                }
            },
            None => scanner.skip()?,
        }
        Ok(Some(scanner.since(start)).filter(|text| *text != "null"))
    }
}

/// Refuses anything but an object (and `null`, which serde refuses too).
fn expect_object(scanner: &mut Scanner, expected: &str) -> Scanned<()> {
    if scanner.peek()? == b'{' {
        Ok(())
    } else {
        Err(scanner.wrong_type(expected))
    }
}

/// A value as its text; `null` as `None`.
fn raw<'a>(scanner: &mut Scanner<'a>) -> Scanned<Option<&'a str>> {
    let start = scanner.start();
    scanner.skip()?;
    Ok(Some(scanner.since(start)).filter(|text| *text != "null"))
}

/// A string field.
fn string<'a>(scanner: &mut Scanner<'a>) -> Scanned<Cow<'a, str>> {
    if scanner.peek()? != b'"' {
        return Err(scanner.wrong_type("a string"));
    }
    scanner.string()
}

/// The string fields `names` of an object (empty when absent), every other
/// field skipped.
fn string_fields<'a, const N: usize>(
    scanner: &mut Scanner<'a>,
    names: &[&'static str; N],
) -> Scanned<[Cow<'a, str>; N]> {
    let mut values: [Cow<'a, str>; N] = std::array::from_fn(|_| Cow::Borrowed(""));
    let mut seen = Seen::default();
    let mut fields = scanner.fields()?;
    while let Some(key) = fields.next(scanner)? {
        let Some(index) = names.iter().position(|name| same_key(name, &key)) else {
            scanner.skip()?;
            continue;
        };
        seen.first(scanner, index, &key)?;
        values[index] = string(scanner)?;
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_and_snake_case_are_both_read() {
        let camel = br#"{"settings": {}, "request": {"uid": "1", "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "subResource": "scale", "operation": "UPDATE", "userInfo": {"username": "alice"},
            "object": {"a": 1}, "oldObject": null, "dryRun": false, "options": {}}}"#;
        let (payload, _) = read(camel, None).unwrap();
        assert_eq!(payload.request.kind.kind, "Deployment");
        assert_eq!(payload.request.sub_resource, "scale");
        assert_eq!(payload.request.user_info.username, "alice");
        assert_eq!(payload.request.object, Some(r#"{"a": 1}"#));
        assert!(payload.request.old_object.is_none());

        let snake = br#"{"request": {"sub_resource": "status", "user_info": {"username": "bob"}, "old_object": {}}}"#;
        let (payload, _) = read(snake, None).unwrap();
        assert_eq!(payload.request.sub_resource, "status");
        assert_eq!(payload.request.user_info.username, "bob");
        assert!(payload.request.old_object.is_some());
    }

    #[test]
    fn unreadable_payloads_are_explained() {
        let refused = |payload: &[u8]| match read(payload, None) {
            Err(message) => message,
            Ok(_) => panic!("{payload:?} was read"),
        };
        for (payload, reason) in [
            (&b"{"[..], "EOF while parsing an object at line 1 column 1"),
            (b"{}", "missing field `request`"),
            (
                b"[1]",
                "invalid type: sequence, expected an object with settings and request",
            ),
            (
                b"{\"request\": null}",
                "invalid type: null, expected an AdmissionRequest object",
            ),
            (
                b"{\"request\": {\"uid\": 5}}",
                "invalid type: integer `5`, expected a string",
            ),
            (
                b"{\"request\": {\"kind\": \"Pod\"}}",
                "invalid type: string \"Pod\", expected a group, version and kind",
            ),
            (
                b"{\"request\": {\"userInfo\": {\"username\": null}}}",
                "invalid type: null, expected a string",
            ),
            (
                b"{\"request\": {\"object\": {}, \"object\": {}}}",
                "duplicate field `object`",
            ),
            (
                b"{\"request\": {}, \"request\": {}}",
                "duplicate field `request`",
            ),
            (
                b"{\"request\": {}} x",
                "trailing characters at line 1 column 17",
            ),
            (b"\xff", "invalid utf-8 sequence of 1 bytes from index 0"),
        ] {
            assert_eq!(
                refused(payload),
                format!("the admission request cannot be read: {reason}")
            );
        }
    }
}
