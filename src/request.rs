//! The waPC payload: the settings and the Kubernetes AdmissionRequest, read
//! without copying the object (it stays a raw slice of the payload).
//!
//! Field names are accepted both in the AdmissionRequest's camelCase and in
//! snake_case, as the SDK's `KubernetesAdmissionRequest` accepts them.

use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

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
    serde_json::from_slice(payload).map_err(|error| {
        let reason = error
            .to_string()
            .replace("struct Payload", "an object with settings and request")
            .replace("struct Request", "an AdmissionRequest object")
            .replace("struct GroupVersionKind", "a group, version and kind")
            .replace("struct UserInfo", "a userInfo object");
        format!("the admission request cannot be read: {reason}")
    })
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
