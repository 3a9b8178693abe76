//! A policy that only parses the request with the SDK's `ValidationRequest`
//! and accepts it: the lower limit of what any policy costs.
//!
//! Built with the `same-answer` feature, it gives instead the answer the
//! measured policy gives to the same request, written out before the build
//! (by request uid, in the Rust file named by `FLOOR_ANSWERS`): the host's
//! cost of that answer (its patch, its warnings) with no policy work.

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
    register_function(
        "protocol_version",
        kubewarden_policy_sdk::protocol_version_guest,
    );
}

fn validate(payload: &[u8]) -> CallResult {
    match ValidationRequest::<AnySettings>::new(payload) {
        Ok(request) => answer(&request.request.uid),
        Err(error) => reject_request(Some(error.to_string()), None, None, None),
    }
}

#[cfg(not(feature = "same-answer"))]
fn answer(_uid: &str) -> CallResult {
    accept_request()
}

/// `ANSWERS: &[(&str, &[u8])]`: each request uid with the measured
/// policy's answer to it.
#[cfg(feature = "same-answer")]
mod same_answer {
    include!(env!("FLOOR_ANSWERS"));
}

#[cfg(feature = "same-answer")]
fn answer(uid: &str) -> CallResult {
    match same_answer::ANSWERS.iter().find(|(known, _)| *known == uid) {
        Some((_, answer)) => Ok(answer.to_vec()),
        None => reject_request(
            Some(format!("no answer for request {uid}")),
            None,
            None,
            None,
        ),
    }
}
