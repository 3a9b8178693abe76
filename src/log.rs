//! Log events for the host, through the Kubewarden SDK's slog drain as
//! Kubewarden's own policies send them. The drain hands every event to the
//! host, which shows it when its own log level (policy-server's
//! `--log-level`) includes the event's.

use crate::response::Response;
use kubewarden_policy_sdk::logging::KubewardenDrain;
use slog::{Drain, Logger, o};
use std::sync::LazyLock;

/// The policy's root logger. A host that does not take logs is no reason
/// to fail a request, so the drain's errors are dropped rather than turned
/// into a panic (as `KubewardenDrain::new()`'s fuse would).
pub static LOG: LazyLock<Logger> = LazyLock::new(|| {
    Logger::root(
        KubewardenDrain::default().ignore_res(),
        o!("policy" => "secure-pod-defaults"),
    )
});

/// What one request got, at debug level: which object, whether it was
/// allowed and whether it was changed (the rest is in the answer itself,
/// which the host records). Sent only by a module built with the
/// `request-log` feature: the drain hands every event to the host whatever
/// the host's level, a cost on every request.
pub fn request_answered(
    kind: &str,
    operation: &str,
    namespace: &str,
    name: &str,
    response: &Response,
) {
    slog::debug!(LOG, "request answered";
        "kind" => kind,
        "operation" => operation,
        "namespace" => namespace,
        "name" => name,
        "allowed" => response.accepted,
        "mutated" => response.mutated_object.is_some(),
    );
}
