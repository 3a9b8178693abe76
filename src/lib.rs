//! secure-pod-defaults: Knative Serving's secure pod defaults for every
//! workload, as a Kubewarden policy.
//!
//! The waPC glue only: `validate` reads the request, finds the pod spec,
//! defaults it and answers (see `admission`); `validate_settings` refuses bad
//! settings with a sentence naming the key.

pub mod admission;
pub mod carriers;
pub mod checks;
pub mod defaults;
pub mod edits;
pub mod images;
pub mod insecure;
pub mod log;
pub mod namespace;
pub mod podspec;
pub mod request;
pub mod response;
pub mod settings;
pub mod violation;

use kubewarden_policy_sdk::settings::SettingsValidationResponse;
use kubewarden_policy_sdk::wapc_guest as guest;
use log::LOG;

use guest::prelude::*;

#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    register_function("validate", validate);
    register_function("validate_settings", validate_settings);
    register_function(
        "protocol_version",
        kubewarden_policy_sdk::protocol_version_guest,
    );
}

/// What a request got is in the answer itself (the warnings, the rejection
/// message, the audit annotation), which the host records; the per-request
/// debug event ([`log::request_answered`]) is sent only from a module built
/// with the `request-log` feature, as it costs a host call per request.
fn validate(payload: &[u8]) -> CallResult {
    let response = admission::evaluate(payload);
    Ok(response.to_json())
}

fn validate_settings(payload: &[u8]) -> CallResult {
    let answer = match settings::Settings::from_json(payload) {
        Ok(_) => SettingsValidationResponse {
            valid: true,
            message: None,
        },
        Err(message) => {
            slog::warn!(LOG, "settings refused"; "reason" => &message);
            SettingsValidationResponse {
                valid: false,
                message: Some(message),
            }
        }
    };
    Ok(serde_json::to_vec(&answer)?)
}
