//! A policy that only parses the request with the SDK's `ValidationRequest`
//! and accepts it: the lower limit of what any policy costs.

use kubewarden_policy_sdk::request::ValidationRequest;
use kubewarden_policy_sdk::settings::Validatable;
use kubewarden_policy_sdk::wapc_guest as guest;
use kubewarden_policy_sdk::{accept_request, reject_request, validate_settings};
use serde::Deserialize;

use guest::prelude::*;

#[derive(Deserialize, Default)]
struct AnySettings {}

impl Validatable for AnySettings {
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    register_function("validate", validate);
    register_function("validate_settings", validate_settings::<AnySettings>);
    register_function("protocol_version", kubewarden_policy_sdk::protocol_version_guest);
}

fn validate(payload: &[u8]) -> CallResult {
    match ValidationRequest::<AnySettings>::new(payload) {
        Ok(_) => accept_request(),
        Err(error) => reject_request(Some(error.to_string()), None, None, None),
    }
}
