//! The waPC payload: the settings and the Kubernetes AdmissionRequest, read
//! with serde. The object stays text borrowed from the payload (a
//! [`RawValue`]): it is read further only where the policy needs it.
//!
//! Field names are accepted both in the AdmissionRequest's camelCase and in
//! snake_case, as the SDK's `KubernetesAdmissionRequest` accepts them.

use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

#[derive(Debug, Deserialize)]
#[serde(expecting = "an object with settings and request")]
pub struct Payload<'a> {
    /// The settings' text; `None` when absent or `null`.
    #[serde(borrow)]
    pub settings: Option<&'a RawValue>,
    #[serde(borrow)]
    pub request: Request<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    default,
    rename_all = "camelCase",
    expecting = "an AdmissionRequest object"
)]
pub struct Request<'a> {
    #[serde(borrow)]
    pub uid: Cow<'a, str>,
    #[serde(borrow)]
    pub kind: GroupVersionKind<'a>,
    #[serde(borrow, alias = "sub_resource")]
    pub sub_resource: Cow<'a, str>,
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    #[serde(borrow)]
    pub namespace: Cow<'a, str>,
    #[serde(borrow)]
    pub operation: Cow<'a, str>,
    #[serde(borrow, alias = "user_info")]
    pub user_info: UserInfo<'a>,
    /// The object's text; `None` when absent or `null`.
    #[serde(borrow)]
    pub object: Option<&'a RawValue>,
    #[serde(borrow, alias = "old_object")]
    pub old_object: Option<&'a RawValue>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, expecting = "a group, version and kind")]
pub struct GroupVersionKind<'a> {
    #[serde(borrow)]
    pub group: Cow<'a, str>,
    #[serde(borrow)]
    pub version: Cow<'a, str>,
    #[serde(borrow)]
    pub kind: Cow<'a, str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, expecting = "a userInfo object")]
pub struct UserInfo<'a> {
    #[serde(borrow)]
    pub username: Cow<'a, str>,
}

/// Reads the payload, or says in one sentence why it is not an admission
/// request.
pub fn read(payload: &[u8]) -> Result<Payload<'_>, String> {
    serde_json::from_slice(payload)
        .map_err(|error| format!("the admission request cannot be read: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_and_snake_case_are_both_read() {
        let camel = br#"{"settings": {}, "request": {"uid": "1", "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "subResource": "scale", "operation": "UPDATE", "userInfo": {"username": "alice"},
            "object": {"a": 1}, "oldObject": null, "dryRun": false, "options": {}}}"#;
        let payload = read(camel).unwrap();
        assert_eq!(payload.request.kind.kind, "Deployment");
        assert_eq!(payload.request.sub_resource, "scale");
        assert_eq!(payload.request.user_info.username, "alice");
        assert_eq!(payload.request.object.unwrap().get(), r#"{"a": 1}"#);
        assert!(payload.request.old_object.is_none());

        let snake = br#"{"request": {"sub_resource": "status", "user_info": {"username": "bob"}, "old_object": {}}}"#;
        let payload = read(snake).unwrap();
        assert_eq!(payload.request.sub_resource, "status");
        assert_eq!(payload.request.user_info.username, "bob");
        assert!(payload.request.old_object.is_some());
    }

    #[test]
    fn escaped_strings_are_read() {
        let payload = read(br#"{"request": {"namespace": "sh\u006fp"}}"#).unwrap();
        assert_eq!(payload.request.namespace, "shop");
    }

    #[test]
    fn unreadable_payloads_are_explained() {
        let refused = |payload: &[u8]| match read(payload) {
            Err(message) => message,
            Ok(_) => panic!("{payload:?} was read"),
        };
        for (payload, reason) in [
            (&b"{"[..], "EOF while parsing an object at line 1 column 1"),
            (b"{}", "missing field `request` at line 1 column 2"),
            // serde reads a struct from a list too, field by field.
            (
                b"[1]",
                "invalid length 1, expected an object with settings and request at line 1 column 3",
            ),
            (
                b"{\"request\": null}",
                "invalid type: null, expected an AdmissionRequest object at line 1 column 16",
            ),
            (
                b"{\"request\": {\"uid\": 5}}",
                "invalid type: integer `5`, expected a string at line 1 column 21",
            ),
            (
                b"{\"request\": {\"kind\": \"Pod\"}}",
                "invalid type: string \"Pod\", expected a group, version and kind at line 1 column 26",
            ),
            (
                b"{\"request\": {\"object\": {}, \"object\": {}}}",
                "duplicate field `object` at line 1 column 35",
            ),
            (
                b"{\"request\": {}} x",
                "trailing characters at line 1 column 17",
            ),
            (b"\xff", "expected value at line 1 column 1"),
        ] {
            assert_eq!(
                refused(payload),
                format!("the admission request cannot be read: {reason}")
            );
        }
    }
}
