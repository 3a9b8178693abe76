//! A native host for the policy's wasm module: it runs the module with the
//! same waPC engine as Kubewarden's policy-server and kwctl, and turns the
//! policy's answer into what the API server would receive.

pub mod cases;
pub mod fake_api;
pub mod host_bench;
pub mod kwctl;
pub mod large;
pub mod large_requests;
pub mod policy_server;
pub mod request;
pub mod wrk;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use serde::Deserialize;
use serde_json::{Value, json};
use wapc::WapcHost;
use wasmtime_provider::wasmtime;
use wasmtime_provider::{EpochDeadlines, WasmtimeEngineProviderBuilder, WasmtimeEngineProviderPre};

pub use request::complete_request;

/// One epoch tick of the engine. A guest call gets `POLICY_TIMEOUT` of them
/// unless the host is built with another timeout.
const EPOCH_TICK: Duration = Duration::from_millis(100);

/// policy-server's default `--policy-timeout`.
pub const POLICY_TIMEOUT: Duration = Duration::from_secs(2);

/// The message policy-server answers with when a policy runs out of time.
const EPOCH_INTERRUPTION_MARKER: &str = "guest code interrupted, execution deadline exceeded";

/// The built policy (`default_wasm_path`), compiled once per test process
/// and shared by every test in it.
pub fn built_policy() -> &'static Host {
    static HOST: std::sync::OnceLock<Host> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        let path = default_wasm_path();
        assert!(path.is_file(), "run `make policy.wasm` first");
        Host::load(&path).expect("the policy loads")
    })
}

/// The root of the repository, where `policy.wasm`, `metadata.yml` and the
/// README are.
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The path of the policy module: `$POLICY_WASM`, else `policy.wasm` at the
/// root of the repository.
pub fn default_wasm_path() -> PathBuf {
    match std::env::var_os("POLICY_WASM") {
        Some(path) => PathBuf::from(path),
        None => repository_root().join("policy.wasm"),
    }
}

/// The policy's answer to `validate_settings`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsAnswer {
    pub valid: bool,
    pub message: Option<String>,
    /// The guest call failed (trap or error) instead of answering; the host
    /// then reports the settings as invalid.
    pub trapped: bool,
    /// The calls the policy made to the host while answering.
    pub host_calls: Vec<HostCall>,
}

impl SettingsAnswer {
    /// What the policy logged through the host while answering.
    pub fn logs(&self) -> Vec<&str> {
        log_lines(&self.host_calls)
    }
}

/// What the API server would get back for one request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Answer {
    pub allowed: bool,
    pub message: Option<String>,
    pub code: Option<u16>,
    /// The JSONPatch operations, None when the request is not changed.
    pub patch: Option<Vec<Value>>,
    pub warnings: Vec<String>,
    pub audit_annotations: BTreeMap<String, String>,
    /// Set when the host refused the settings: the policy's own message.
    /// The request was then not evaluated.
    pub settings_error: Option<String>,
    /// The guest call failed (trap, timeout, error returned by the guest, or
    /// an answer the host cannot read); the host then fails closed with 500.
    pub trapped: bool,
    /// The calls the policy made to the host, settings validation first, in
    /// the order it made them.
    pub host_calls: Vec<HostCall>,
}

impl Answer {
    /// What the policy logged through the host while answering.
    pub fn logs(&self) -> Vec<&str> {
        log_lines(&self.host_calls)
    }
}

/// One call a guest made to the host, answered or refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCall {
    pub binding: String,
    pub namespace: String,
    pub operation: String,
    /// The payload as text (invalid UTF-8 replaced).
    pub payload: String,
    /// The host does not offer the capability, or did not grant it: only
    /// logging is offered, `kubernetes/get_resource` of a Namespace when the
    /// [`Cluster`] grants it, and the image lookups the [`Cluster`] answers.
    pub refused: bool,
}

impl HostCall {
    /// `binding/namespace/operation`, as Kubewarden names a capability.
    pub fn capability(&self) -> String {
        format!("{}/{}/{}", self.binding, self.namespace, self.operation)
    }

    pub fn is_log(&self) -> bool {
        (
            self.binding.as_str(),
            self.namespace.as_str(),
            self.operation.as_str(),
        ) == LOG_CAPABILITY
    }
}

/// The host capability this host always offers.
const LOG_CAPABILITY: (&str, &str, &str) = ("kubewarden", "tracing", "log");

/// The lookup of a Kubernetes resource, offered as [`Cluster`] allows.
pub const GET_RESOURCE_CAPABILITY: (&str, &str, &str) =
    ("kubewarden", "kubernetes", "get_resource");

/// The lookup of an image's manifest and configuration, answered from a
/// [`Cluster`].
pub const OCI_MANIFEST_CONFIG_CAPABILITY: (&str, &str, &str) =
    ("kubewarden", "oci", "v1/oci_manifest_config");

/// What the host's lookups find, as a case describes it.
///
/// `kubernetes/get_resource` is answered as a ClusterAdmissionPolicy with
/// `contextAwareResources: [{apiVersion: v1, kind: Namespace}]` gets it from
/// policy-server: the one Namespace a case runs in, or the error the host
/// returns for it. `oci/v1/oci_manifest_config` is answered from the images
/// of the registries, each asked for in turn. The default grants no
/// Namespace (a policy deployed without contextAwareResources) and finds no
/// image: any image lookup fails, as kwctl's replay of an empty file of
/// interactions fails it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cluster {
    /// The request's Namespace, when the policy is granted its lookup.
    pub namespace: Option<NamespaceLookup>,
    /// The image lookups the policy must make, in the order it makes them
    /// (kwctl replays its interactions strictly in order).
    pub images: Vec<ImageLookup>,
}

/// The lookup of one Namespace and its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct NamespaceLookup {
    /// The Namespace the policy must ask for: the request's.
    pub name: String,
    /// The Namespace object, or the host's error message.
    pub answer: std::result::Result<Value, String>,
}

impl Cluster {
    /// A cluster whose Namespace `name` is `object`.
    pub fn with_namespace(name: &str, object: Value) -> Cluster {
        Cluster {
            namespace: Some(NamespaceLookup {
                name: name.to_owned(),
                answer: Ok(object),
            }),
            ..Cluster::default()
        }
    }

    /// A cluster whose host answers the lookup of `name` with `error`.
    pub fn failing(name: &str, error: &str) -> Cluster {
        Cluster {
            namespace: Some(NamespaceLookup {
                name: name.to_owned(),
                answer: Err(error.to_owned()),
            }),
            ..Cluster::default()
        }
    }
}

/// The lookup of one image and its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageLookup {
    /// The image as the policy must send it, as the container names it.
    pub image: String,
    /// The host's answer: the JSON text policy-evaluator sends back, made
    /// once, or its error message.
    pub answer: std::result::Result<String, String>,
}

impl ImageLookup {
    /// An image whose configuration holds `config`, its execution
    /// parameters (`User`, `Env`, `Cmd`, ...; `None` when it has none).
    pub fn with_config(image: &str, config: Option<&Value>) -> ImageLookup {
        ImageLookup {
            image: image.to_owned(),
            answer: Ok(manifest_and_config(image, config).to_string()),
        }
    }

    /// An image whose lookup fails with `error`.
    pub fn failing(image: &str, error: &str) -> ImageLookup {
        ImageLookup {
            image: image.to_owned(),
            answer: Err(error.to_owned()),
        }
    }
}

/// The fields of the SDK's `GetResourceRequest`, all required, as
/// policy-evaluator reads and kwctl's replay compares them.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct GetResourceRequest {
    api_version: String,
    kind: String,
    name: String,
    namespace: Option<String>,
    disable_cache: bool,
    #[serde(default)]
    field_masks: Option<Vec<String>>,
}

/// The answer to one `kubernetes/get_resource` call, worded as
/// policy-server words it: access to a kind that is not granted is refused
/// before any lookup; an error of the lookup reaches the guest as
/// `Callback evaluation failure: <error>`; a request other than the one the
/// case expects fails, as kwctl's replay fails it. The flag says whether
/// the call was refused.
fn get_resource(cluster: &Cluster, payload: &[u8]) -> (HostCallResult, bool) {
    let request: GetResourceRequest = match serde_json::from_slice(payload) {
        Ok(request) => request,
        Err(err) => return (Err(err.to_string().into()), false),
    };
    let lookup = match &cluster.namespace {
        Some(lookup)
            if (request.api_version.as_str(), request.kind.as_str()) == ("v1", "Namespace") =>
        {
            lookup
        }
        _ => {
            let refusal = format!(
                "Policy has not been granted access to Kubernetes {}/{} resources. The violation has been reported.",
                request.api_version, request.kind
            );
            return (Err(refusal.into()), true);
        }
    };
    let expected = GetResourceRequest {
        api_version: "v1".into(),
        kind: "Namespace".into(),
        name: lookup.name.clone(),
        namespace: None,
        disable_cache: false,
        field_masks: None,
    };
    let answer: HostCallResult = if request != expected {
        Err(format!(
            "Callback evaluation failure: Replay error: unexpected request. Was expecting {expected:?}, got {request:?} instead"
        )
        .into())
    } else {
        match &lookup.answer {
            Ok(object) => Ok(serde_json::to_vec(object).expect("a JSON value always serializes")),
            Err(message) => Err(format!("Callback evaluation failure: {message}").into()),
        }
    };
    (answer, false)
}

/// What a host answers to `oci/v1/oci_manifest_config` for an image whose
/// configuration holds `config`, shaped as the SDK's
/// `OciManifestAndConfigResponse`: the OCI image manifest, its digest, and
/// the OCI image configuration, with oci-spec's field names. The digests
/// are made up (derived from the image's name), and so are the platform,
/// the layer and the history: only the configuration's `config` is the
/// case's.
pub fn manifest_and_config(image: &str, config: Option<&Value>) -> Value {
    let digest = |part: &str| {
        use std::hash::{Hash, Hasher};
        let mut hex = String::from("sha256:");
        for round in 0..4u8 {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            (image, part, round).hash(&mut hasher);
            hex.push_str(&format!("{:016x}", hasher.finish()));
        }
        hex
    };
    let mut configuration = json!({
        "created": "2025-06-01T10:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [digest("diff")]},
        "history": [{"created": "2025-06-01T10:00:00Z", "created_by": "COPY app /app # buildkit"}],
    });
    if let Some(config) = config {
        configuration["config"] = config.clone();
    }
    json!({
        "manifest": {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": digest("config"),
                "size": configuration.to_string().len(),
            },
            "layers": [{
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": digest("layer"),
                "size": 3_145_728,
            }],
        },
        "digest": digest("manifest"),
        "config": configuration,
    })
}

/// The answer to the `asked_before + 1`th `oci/v1/oci_manifest_config`
/// call of an evaluation, worded as kwctl's replay and policy-evaluator
/// word it: the lookup the cluster lists at that place is answered when the
/// image is the one it names; an error of the lookup, a different image
/// and a lookup past the list reach the guest as `Callback evaluation
/// failure: <reason>`.
fn oci_manifest_config(cluster: &Cluster, asked_before: usize, payload: &[u8]) -> HostCallResult {
    let image: String = serde_json::from_slice(payload)?;
    let failure = |reason: String| -> HostCallResult {
        Err(format!("Callback evaluation failure: {reason}").into())
    };
    let Some(lookup) = cluster.images.get(asked_before) else {
        return failure("the list of recorded responses is empty".to_owned());
    };
    if lookup.image != image {
        return failure(format!(
            "Replay error: unexpected request. Was expecting OciManifestAndConfig {{ image: {:?} }}, \
             got OciManifestAndConfig {{ image: {image:?} }} instead",
            lookup.image
        ));
    }
    match &lookup.answer {
        Ok(text) => Ok(text.clone().into_bytes()),
        Err(message) => failure(message.clone()),
    }
}

fn log_lines(calls: &[HostCall]) -> Vec<&str> {
    calls
        .iter()
        .filter(|call| call.is_log())
        .map(|call| call.payload.as_str())
        .collect()
}

/// The policy's ValidationResponse, as the SDK serializes it (snake_case,
/// absent fields as null).
#[derive(Debug, Deserialize)]
struct ValidationResponse {
    accepted: bool,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    code: Option<u16>,
    #[serde(default)]
    mutated_object: Option<Value>,
    #[serde(default)]
    audit_annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    warnings: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct SettingsValidationResponse {
    valid: bool,
    #[serde(default)]
    message: Option<String>,
}

/// The compiled policy. Compiling is the slow part, so a test process does it
/// once and then instantiates the module cheaply for each request.
pub struct Host {
    engine_pre: WasmtimeEngineProviderPre,
    wasm_path: PathBuf,
    deadline_ticks: u64,
}

impl Host {
    /// Reads and compiles the policy module.
    pub fn load(path: impl AsRef<Path>) -> Result<Host> {
        let path = path.as_ref();
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read the policy module {}", path.display()))?;
        let mut host = Host::from_bytes(&bytes)
            .with_context(|| format!("cannot load the policy module {}", path.display()))?;
        host.wasm_path = path.to_path_buf();
        Ok(host)
    }

    /// Compiles a policy module held in memory.
    pub fn from_bytes(wasm: &[u8]) -> Result<Host> {
        Host::from_bytes_with_timeout(wasm, POLICY_TIMEOUT)
    }

    /// Compiles a module whose guest calls may each run for `timeout`, so
    /// that a benchmark can time a call that policy-server would cut short.
    pub fn from_bytes_with_timeout(wasm: &[u8], timeout: Duration) -> Result<Host> {
        let mut config = wasmtime::Config::default();
        config.epoch_interruption(true);
        // For profiling with `perf record`: the names of compiled functions.
        if std::env::var_os("WASM_PERF_MAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        // wasmtime has its own error type: keep its whole chain in the text.
        let engine = wasmtime::Engine::new(&config).map_err(|e| anyhow!("{e:?}"))?;
        let module = wasmtime::Module::new(&engine, wasm)
            .map_err(|e| anyhow!("cannot compile the module: {e:?}"))?;
        start_epoch_ticker(&engine);
        let engine_pre = WasmtimeEngineProviderBuilder::new()
            .engine(engine)
            .module(module)
            .build_pre()?;
        let deadline_ticks = (timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        Ok(Host {
            engine_pre,
            wasm_path: PathBuf::new(),
            deadline_ticks,
        })
    }

    /// The file the module was loaded from (empty for in-memory modules).
    pub fn wasm_path(&self) -> &Path {
        &self.wasm_path
    }

    /// A fresh instance of the policy, as the host makes one per evaluation.
    pub fn instantiate(&self) -> Result<PolicyInstance> {
        let provider = self.engine_pre.rehydrate(Some(EpochDeadlines {
            wapc_init: self.deadline_ticks,
            wapc_func: self.deadline_ticks,
        }))?;
        let host_calls = Arc::new(Mutex::new(Vec::new()));
        let recorded_calls = Arc::clone(&host_calls);
        let cluster = Arc::new(Mutex::new(Cluster::default()));
        let known_cluster = Arc::clone(&cluster);
        let echo_logs = std::env::var_os("E2E_LOG").is_some();
        let wapc = WapcHost::new(
            Box::new(provider),
            Some(Box::new(
                move |_id, binding, namespace, operation, payload| {
                    let cluster = known_cluster.lock().unwrap_or_else(|e| e.into_inner());
                    host_call(
                        &recorded_calls,
                        &cluster,
                        echo_logs,
                        binding,
                        namespace,
                        operation,
                        payload,
                    )
                },
            )),
        )?;
        Ok(PolicyInstance {
            wapc,
            host_calls,
            cluster,
        })
    }

    /// Asks a fresh instance whether the settings are valid.
    pub fn validate_settings(&self, settings: &Value) -> Result<SettingsAnswer> {
        Ok(self.instantiate()?.validate_settings(settings))
    }

    /// Evaluates one AdmissionRequest on a fresh instance, settings first,
    /// exactly as policy-server and kwctl do, granting no lookup.
    pub fn evaluate(&self, settings: &Value, admission_request: &Value) -> Result<Answer> {
        self.evaluate_in(&Cluster::default(), settings, admission_request)
    }

    /// [`Host::evaluate`], with the lookups `cluster` answers.
    pub fn evaluate_in(
        &self,
        cluster: &Cluster,
        settings: &Value,
        admission_request: &Value,
    ) -> Result<Answer> {
        let mut instance = self.instantiate()?;
        instance.set_cluster(cluster.clone());
        Ok(instance.evaluate(settings, admission_request))
    }
}

/// Ticks the engine's epoch so that a policy stuck in a loop is interrupted.
/// The thread ends once the engine is gone.
fn start_epoch_ticker(engine: &wasmtime::Engine) {
    let engine = engine.weak();
    thread::spawn(move || {
        loop {
            thread::sleep(EPOCH_TICK);
            match engine.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => break,
            }
        }
    });
}

type HostCallResult = std::result::Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>>;

/// Records every call, then answers it. The host capabilities this policy
/// may use are logging, the lookup of its request's Namespace and the image
/// lookups, answered from `cluster`. Anything else (DNS, other lookups...)
/// is refused, so a policy that starts depending on one fails here instead
/// of in a cluster without it.
fn host_call(
    calls: &Mutex<Vec<HostCall>>,
    cluster: &Cluster,
    echo_logs: bool,
    binding: &str,
    namespace: &str,
    operation: &str,
    payload: &[u8],
) -> HostCallResult {
    let capability = (binding, namespace, operation);
    let mut calls = calls.lock().unwrap_or_else(|e| e.into_inner());
    let (answer, refused): (HostCallResult, bool) = if capability == LOG_CAPABILITY {
        (Ok(Vec::new()), false)
    } else if capability == GET_RESOURCE_CAPABILITY {
        get_resource(cluster, payload)
    } else if capability == OCI_MANIFEST_CONFIG_CAPABILITY {
        let asked_before = calls
            .iter()
            .filter(|call| call.capability() == "kubewarden/oci/v1/oci_manifest_config")
            .count();
        (oci_manifest_config(cluster, asked_before, payload), false)
    } else {
        let refusal =
            format!("host call {binding}/{namespace}/{operation} is not offered by this host");
        (Err(refusal.into()), true)
    };
    let call = HostCall {
        binding: binding.to_string(),
        namespace: namespace.to_string(),
        operation: operation.to_string(),
        payload: String::from_utf8_lossy(payload).into_owned(),
        refused,
    };
    if echo_logs {
        let outcome = match &answer {
            Ok(bytes) if call.is_log() || bytes.is_empty() => String::new(),
            Ok(bytes) => format!(" -> {}", String::from_utf8_lossy(bytes)),
            Err(err) => format!(" -> error: {err}"),
        };
        eprintln!(
            "policy host call {}: {}{outcome}",
            call.capability(),
            call.payload
        );
    }
    calls.push(call);
    answer
}

/// One live instance of the policy. It can answer many calls in a row, which
/// is what a benchmark of warm evaluations needs.
pub struct PolicyInstance {
    wapc: WapcHost,
    host_calls: Arc<Mutex<Vec<HostCall>>>,
    cluster: Arc<Mutex<Cluster>>,
}

impl PolicyInstance {
    /// What the host answers to the lookups of the calls that follow.
    pub fn set_cluster(&mut self, cluster: Cluster) {
        *self.cluster.lock().unwrap_or_else(|e| e.into_inner()) = cluster;
    }

    /// Calls the guest's `validate_settings` with the settings alone.
    pub fn validate_settings(&mut self, settings: &Value) -> SettingsAnswer {
        let payload = serde_json::to_vec(settings).expect("a JSON value always serializes");
        let result = self.wapc.call("validate_settings", &payload);
        let host_calls = self.take_host_calls();
        // The wording of the failures is policy-evaluator's, so that the
        // messages match what kwctl prints.
        let (valid, message, trapped) = match result {
            Ok(bytes) => match serde_json::from_slice::<SettingsValidationResponse>(&bytes) {
                Ok(answer) => (answer.valid, answer.message, false),
                Err(err) => (false, Some(format!("error: {err:?}")), true),
            },
            Err(err) => (
                false,
                Some(format!(
                    "Error invoking settings validation callback: {err:?}"
                )),
                true,
            ),
        };
        SettingsAnswer {
            valid,
            message,
            trapped,
            host_calls,
        }
    }

    /// Settings first, then the request, as the host does.
    pub fn evaluate(&mut self, settings: &Value, admission_request: &Value) -> Answer {
        let settings_answer = self.validate_settings(settings);
        if !settings_answer.valid {
            let policy_message = settings_answer.message.unwrap_or_default();
            return Answer {
                allowed: false,
                message: Some(format!("Provided settings are not valid: {policy_message}")),
                settings_error: Some(policy_message),
                trapped: settings_answer.trapped,
                host_calls: settings_answer.host_calls,
                ..Answer::default()
            };
        }
        let mut answer = self.validate(settings, admission_request);
        let mut host_calls = settings_answer.host_calls;
        host_calls.append(&mut answer.host_calls);
        answer.host_calls = host_calls;
        answer
    }

    /// Calls the guest's `validate` without checking the settings first:
    /// the host only does that once per policy, not per request.
    pub fn validate(&mut self, settings: &Value, admission_request: &Value) -> Answer {
        let payload = validate_payload(settings, admission_request);
        let result = self.wapc.call("validate", &payload);
        let host_calls = self.take_host_calls();
        let mut answer = match result {
            Ok(bytes) => answer_from_response(request::request_object(admission_request), &bytes),
            Err(err) => {
                let mut message = err.to_string();
                if message.contains(EPOCH_INTERRUPTION_MARKER) {
                    message = "Policy execution interrupted because it exceeded the allowed execution time".into();
                }
                internal_server_error(message)
            }
        };
        answer.host_calls = host_calls;
        answer
    }

    /// Calls a guest function with a ready payload and returns the guest's
    /// bytes unread, so that a benchmark times the guest call alone and not
    /// the host's JSON work around it. The call's host calls are dropped.
    pub fn call_raw(&mut self, function: &str, payload: &[u8]) -> Result<Vec<u8>> {
        let result = self.wapc.call(function, payload);
        self.take_host_calls();
        Ok(result?)
    }

    /// The host calls the policy made since they were last taken.
    pub fn take_host_calls(&mut self) -> Vec<HostCall> {
        std::mem::take(&mut *self.host_calls.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The bytes the host sends to the guest's `validate`.
pub fn validate_payload(settings: &Value, admission_request: &Value) -> Vec<u8> {
    let payload = json!({"settings": settings, "request": admission_request});
    serde_json::to_vec(&payload).expect("a JSON value always serializes")
}

/// The host fails closed when it cannot get a usable answer.
fn internal_server_error(message: String) -> Answer {
    Answer {
        allowed: false,
        message: Some(format!("internal server error: {message}")),
        code: Some(500),
        trapped: true,
        ..Answer::default()
    }
}

/// Turns the policy's ValidationResponse into the admission answer, as
/// policy-evaluator does: a mutated object becomes a JSONPatch against the
/// request's object.
pub fn answer_from_response(request_object: Option<&Value>, response: &[u8]) -> Answer {
    let response: ValidationResponse = match serde_json::from_slice(response) {
        Ok(response) => response,
        Err(err) => {
            return internal_server_error(format!(
                "cannot read the policy's validation response: {err}"
            ));
        }
    };
    let patch = match (&response.mutated_object, request_object) {
        (None, _) => None,
        (Some(_), None) => {
            return Answer {
                allowed: false,
                message: Some(
                    "Incoming object is null, which happens only with DELETE operations, \
                     but the policy is attempting a mutation. This is not allowed"
                        .into(),
                ),
                ..Answer::default()
            };
        }
        (Some(mutated), Some(original)) => patch_between(original, mutated),
    };
    Answer {
        allowed: response.accepted,
        message: response.message,
        code: response.code,
        patch,
        warnings: response.warnings.unwrap_or_default(),
        audit_annotations: response.audit_annotations.unwrap_or_default(),
        ..Answer::default()
    }
}

/// The JSONPatch turning `original` into `mutated`, None when they are equal.
pub fn patch_between(original: &Value, mutated: &Value) -> Option<Vec<Value>> {
    let patch = json_patch::diff(original, mutated);
    if patch.0.is_empty() {
        return None;
    }
    let operations = serde_json::to_value(&patch).expect("a JSONPatch always serializes");
    match operations {
        Value::Array(operations) => Some(operations),
        other => unreachable!("a JSONPatch serializes as an array, got {other}"),
    }
}

#[cfg(test)]
mod guest_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn respond(object: Option<Value>, response: Value) -> Answer {
        answer_from_response(object.as_ref(), response.to_string().as_bytes())
    }

    #[test]
    fn acceptance_without_mutation_has_no_patch() {
        let answer = respond(
            Some(json!({"a": 1})),
            json!({"accepted": true, "message": null, "code": null, "mutated_object": null,
                   "audit_annotations": null, "warnings": null}),
        );
        assert!(answer.allowed);
        assert_eq!(answer.patch, None);
        assert!(answer.warnings.is_empty());
        assert!(!answer.trapped);
    }

    #[test]
    fn absent_fields_read_as_none() {
        let answer = respond(Some(json!({})), json!({"accepted": true}));
        assert!(answer.allowed);
        assert_eq!(answer.message, None);
        assert_eq!(answer.code, None);
    }

    #[test]
    fn mutation_becomes_a_patch() {
        let original = json!({"spec": {"containers": [{"name": "c"}]}});
        let mutated = json!({"spec": {"containers": [{"name": "c",
            "securityContext": {"allowPrivilegeEscalation": false}}]}});
        let answer = respond(
            Some(original),
            json!({"accepted": true, "mutated_object": mutated, "warnings": ["changed"]}),
        );
        assert!(answer.allowed);
        assert_eq!(
            answer.patch,
            Some(vec![
                json!({"op": "add", "path": "/spec/containers/0/securityContext",
                              "value": {"allowPrivilegeEscalation": false}})
            ])
        );
        assert_eq!(answer.warnings, vec!["changed".to_string()]);
    }

    #[test]
    fn replaced_values_become_replace_operations() {
        let patch = patch_between(
            &json!({"spec": {"hostNetwork": true}}),
            &json!({"spec": {"hostNetwork": false}}),
        );
        assert_eq!(
            patch,
            Some(vec![
                json!({"op": "replace", "path": "/spec/hostNetwork", "value": false})
            ])
        );
    }

    #[test]
    fn identical_mutated_object_means_no_patch() {
        let object = json!({"metadata": {"name": "x"}});
        let answer = respond(
            Some(object.clone()),
            json!({"accepted": true, "mutated_object": object}),
        );
        assert!(answer.allowed);
        assert_eq!(answer.patch, None);
    }

    #[test]
    fn mutation_without_an_object_is_rejected() {
        let answer = respond(None, json!({"accepted": true, "mutated_object": {"a": 1}}));
        assert!(!answer.allowed);
        assert_eq!(answer.patch, None);
        assert!(answer.message.unwrap().contains("Incoming object is null"));
    }

    #[test]
    fn rejection_keeps_message_code_and_annotations() {
        let answer = respond(
            Some(json!({})),
            json!({"accepted": false, "message": "no", "code": 403,
                   "audit_annotations": {"k": "v"}, "warnings": ["w1", "w2"]}),
        );
        assert!(!answer.allowed);
        assert_eq!(answer.message.as_deref(), Some("no"));
        assert_eq!(answer.code, Some(403));
        assert_eq!(
            answer.audit_annotations.get("k").map(String::as_str),
            Some("v")
        );
        assert_eq!(answer.warnings, vec!["w1", "w2"]);
    }

    #[test]
    fn unreadable_response_fails_closed() {
        let answer = answer_from_response(Some(&json!({})), b"not json");
        assert!(!answer.allowed);
        assert_eq!(answer.code, Some(500));
        assert!(answer.trapped);
        assert!(
            answer
                .message
                .unwrap()
                .starts_with("internal server error: ")
        );
    }

    #[test]
    fn only_logging_is_offered_and_every_call_is_recorded() {
        let calls = Mutex::new(Vec::new());
        let cluster = Cluster::default();
        let ok = host_call(
            &calls,
            &cluster,
            false,
            "kubewarden",
            "tracing",
            "log",
            br#"{"msg":"hi"}"#,
        );
        assert_eq!(ok.unwrap(), Vec::<u8>::new());
        let refused = host_call(
            &calls,
            &cluster,
            false,
            "kubewarden",
            "oci",
            "v1/verify",
            b"{}",
        );
        assert!(refused.is_err());
        let answer = Answer {
            host_calls: calls.into_inner().unwrap(),
            ..Answer::default()
        };
        assert_eq!(answer.logs(), vec![r#"{"msg":"hi"}"#]);
        let described: Vec<(String, bool)> = answer
            .host_calls
            .iter()
            .map(|call| (call.capability(), call.refused))
            .collect();
        assert_eq!(
            described,
            vec![
                ("kubewarden/tracing/log".to_string(), false),
                ("kubewarden/oci/v1/verify".to_string(), true)
            ]
        );
        assert_eq!(answer.host_calls[1].payload, "{}");
    }

    fn lookup(cluster: &Cluster, payload: &Value) -> (std::result::Result<Value, String>, bool) {
        let calls = Mutex::new(Vec::new());
        let bytes = serde_json::to_vec(payload).unwrap();
        let answer = host_call(
            &calls,
            cluster,
            false,
            "kubewarden",
            "kubernetes",
            "get_resource",
            &bytes,
        );
        let refused = calls.into_inner().unwrap()[0].refused;
        let answer = answer
            .map(|bytes| serde_json::from_slice(&bytes).unwrap())
            .map_err(|err| err.to_string());
        (answer, refused)
    }

    fn namespace_request(name: &str) -> Value {
        json!({"api_version": "v1", "kind": "Namespace", "name": name, "namespace": null,
               "disable_cache": false, "field_masks": null})
    }

    #[test]
    fn the_request_namespace_is_answered_as_the_cluster_holds_it() {
        let team_a =
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}});
        let cluster = Cluster::with_namespace("team-a", team_a.clone());
        assert_eq!(
            lookup(&cluster, &namespace_request("team-a")),
            (Ok(team_a), false)
        );
        let (other, refused) = lookup(&cluster, &namespace_request("team-b"));
        assert!(!refused);
        assert!(
            other
                .unwrap_err()
                .starts_with("Callback evaluation failure: Replay error: unexpected request.")
        );
        let mut uncached = namespace_request("team-a");
        uncached["disable_cache"] = json!(true);
        assert!(lookup(&cluster, &uncached).0.is_err());

        let failing = Cluster::failing("team-a", "Cannot find v1/Namespace named 'team-a'");
        assert_eq!(
            lookup(&failing, &namespace_request("team-a")),
            (
                Err("Callback evaluation failure: Cannot find v1/Namespace named 'team-a'".into()),
                false
            )
        );
        let not_granted = "Policy has not been granted access to Kubernetes v1/Namespace \
                           resources. The violation has been reported.";
        assert_eq!(
            lookup(&Cluster::default(), &namespace_request("team-a")),
            (Err(not_granted.into()), true)
        );
        let mut secret = namespace_request("token");
        secret["kind"] = json!("Secret");
        let (refusal, refused) = lookup(&cluster, &secret);
        assert!(refused);
        assert!(
            refusal
                .unwrap_err()
                .contains("Kubernetes v1/Secret resources")
        );
    }

    /// The answers to `images`, asked for in turn, and whether each call was
    /// refused.
    fn look_up(cluster: &Cluster, images: &[&str]) -> Vec<std::result::Result<Value, String>> {
        let calls = Mutex::new(Vec::new());
        let answers = images
            .iter()
            .map(|image| {
                let payload = serde_json::to_vec(image).unwrap();
                host_call(
                    &calls,
                    cluster,
                    false,
                    "kubewarden",
                    "oci",
                    "v1/oci_manifest_config",
                    &payload,
                )
                .map(|bytes| serde_json::from_slice(&bytes).unwrap())
                .map_err(|err| err.to_string())
            })
            .collect();
        assert!(calls.into_inner().unwrap().iter().all(|call| !call.refused));
        answers
    }

    #[test]
    fn images_are_answered_in_the_order_the_cluster_lists_them() {
        let cluster = Cluster {
            images: vec![
                ImageLookup::with_config(
                    "registry.example.com/shop/web:3.0",
                    Some(&json!({"User": "65532:65532"})),
                ),
                ImageLookup::failing("docker.io/library/nginx:1.27", "registry unreachable"),
            ],
            ..Cluster::default()
        };
        let answers = look_up(
            &cluster,
            &[
                "registry.example.com/shop/web:3.0",
                "docker.io/library/nginx:1.27",
                "docker.io/library/nginx:1.27",
            ],
        );
        let answer = answers[0].as_ref().unwrap();
        assert_eq!(answer["config"]["config"], json!({"User": "65532:65532"}));
        assert_eq!(answer["manifest"]["schemaVersion"], 2);
        assert!(answer["digest"].as_str().unwrap().starts_with("sha256:"));
        assert_eq!(answer["digest"].as_str().unwrap().len(), 71);
        assert_eq!(
            answers[1],
            Err("Callback evaluation failure: registry unreachable".into())
        );
        assert_eq!(
            answers[2],
            Err("Callback evaluation failure: the list of recorded responses is empty".into())
        );
        let out_of_order = look_up(&cluster, &["docker.io/library/nginx:1.27"]);
        assert_eq!(
            out_of_order[0],
            Err(
                "Callback evaluation failure: Replay error: unexpected request. Was expecting \
                 OciManifestAndConfig { image: \"registry.example.com/shop/web:3.0\" }, got \
                 OciManifestAndConfig { image: \"docker.io/library/nginx:1.27\" } instead"
                    .into()
            )
        );
        let none = manifest_and_config("busybox:1.36", None);
        assert!(none["config"].get("config").is_none());
    }
}
