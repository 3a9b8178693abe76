//! A pod template read in one pass: the fields the defaults and the checks
//! read, as small JSON values, and where each securityContext sits in the
//! request text, so an edit can be spliced in place.
//!
//! Most of a pod spec is environment variables, commands, resources, mounts
//! and probe timings, which no rule reads. They are skipped while reading,
//! never built into a tree: [`KEPT_SPEC_FIELDS`] and [`KEPT_CONTAINER_FIELDS`]
//! say what is kept, and a test runs every check on the kept fields and on
//! the whole object to show the two agree.

use crate::scan::{ScanError, Scanned, Scanner};
use crate::value::{Map, Number, Value, same_key};

/// What of a JSON value is kept.
#[derive(Clone, Copy, Debug)]
pub enum Keep {
    /// The whole value.
    All,
    /// The type only: an object or list comes back empty, a scalar whole
    /// (a volume source: the checks ask which one is set, not what it holds).
    Shape,
    /// The pod template at this path of the object: the objects on the way
    /// keep only the next key of the path (and, at the top, the
    /// `metadata.ownerReferences`), the template its
    /// [`KEPT_TEMPLATE_FIELDS`].
    Path(&'static [&'static str]),
    /// The listed fields of an object, each by its own rule.
    Fields(&'static [(&'static str, Keep)]),
    /// Like `Fields`, and left out of its parent altogether when none of
    /// its fields is there (a probe without a `host`: most of them).
    Sparse(&'static [(&'static str, Keep)]),
    /// The listed fields of an object by their rule, every other by its shape.
    FieldsElseShape(&'static [(&'static str, Keep)]),
    /// The fields of an object whose key starts with one of these prefixes.
    Prefixed(&'static [&'static str]),
    /// Each item of a list, by the rule.
    Items(&'static Keep),
    /// Like `Fields`, but anything other than an object or `null` is an
    /// error: the value is one the defaults rely on (a port, the os).
    Object(&'static [(&'static str, Keep)]),
    /// Like `Items`, but anything other than a list or `null` is an error.
    List(&'static Keep),
    /// A string or `null`; anything else is an error.
    Str,
    /// An integer or `null`; anything else is an error.
    Int,
    /// A pod spec: [`KEPT_SPEC_FIELDS`], and where its securityContext is.
    PodSpec,
    /// A list of containers: [`KEPT_CONTAINER_FIELDS`] of each, and where
    /// each securityContext is.
    Containers(ContainerList),
}

/// The HTTP and TCP handlers of a probe or lifecycle hook: only the `host`
/// the baseline level forbids.
const HANDLER: Keep = Keep::Sparse(&[
    ("httpGet", Keep::Sparse(&[("host", Keep::All)])),
    ("tcpSocket", Keep::Sparse(&[("host", Keep::All)])),
]);

/// What the policy reads of a container.
pub const KEPT_CONTAINER_FIELDS: &[(&str, Keep)] = &[
    ("name", Keep::Str),
    ("image", Keep::Str),
    ("securityContext", Keep::All),
    (
        "ports",
        Keep::List(&Keep::Object(&[
            ("containerPort", Keep::Int),
            ("hostPort", Keep::All),
        ])),
    ),
    ("livenessProbe", HANDLER),
    ("readinessProbe", HANDLER),
    ("startupProbe", HANDLER),
    (
        "lifecycle",
        Keep::Sparse(&[("postStart", HANDLER), ("preStop", HANDLER)]),
    ),
];

/// What the policy reads of a pod spec.
pub const KEPT_SPEC_FIELDS: &[(&str, Keep)] = &[
    ("securityContext", Keep::All),
    ("os", Keep::Object(&[("name", Keep::Str)])),
    ("runtimeClassName", Keep::Str),
    ("hostUsers", Keep::All),
    ("hostNetwork", Keep::All),
    ("hostPID", Keep::All),
    ("hostIPC", Keep::All),
    (
        "volumes",
        Keep::Items(&Keep::FieldsElseShape(&[
            ("name", Keep::All),
            ("hostPath", Keep::Fields(&[("path", Keep::All)])),
        ])),
    ),
    (
        "initContainers",
        Keep::Containers(ContainerList::InitContainers),
    ),
    ("containers", Keep::Containers(ContainerList::Containers)),
    (
        "ephemeralContainers",
        Keep::Containers(ContainerList::EphemeralContainers),
    ),
];

/// The annotations the checks read: AppArmor and the seccomp annotations.
pub const KEPT_ANNOTATION_PREFIXES: &[&str] = &[
    "container.apparmor.security.beta.kubernetes.io/",
    "container.seccomp.security.alpha.kubernetes.io/",
    "seccomp.security.alpha.kubernetes.io/pod",
];

/// What the policy reads of the metadata of an object that carries a pod
/// template: who owns it.
const OWNER_REFERENCES: Keep = Keep::Fields(&[("ownerReferences", Keep::All)]);

/// What the policy reads of a pod template (`metadata` and `spec`).
pub const KEPT_TEMPLATE_FIELDS: &[(&str, Keep)] = &[
    (
        "metadata",
        Keep::Fields(&[
            ("annotations", Keep::Prefixed(KEPT_ANNOTATION_PREFIXES)),
            // Of an object that is its own template (a Pod, a Revision).
            ("ownerReferences", Keep::All),
        ]),
    ),
    ("spec", Keep::PodSpec),
];

/// A pod template as the policy reads it.
#[derive(Debug, Default)]
pub struct PodTemplate<'a> {
    /// The kept fields of the template (see [`KEPT_TEMPLATE_FIELDS`]).
    pub fields: Map<'a>,
    /// The object's `metadata.ownerReferences`.
    pub owner_references: Option<Value<'a>>,
    pub positions: Positions<'a>,
    /// How many levels of objects and lists the whole object nests.
    pub nesting: usize,
}

/// Where the securityContexts of a pod template sit in the request text.
#[derive(Debug, Default)]
pub struct Positions<'a> {
    /// The pod-level securityContext, `null` included.
    pub pod_security_context: Option<&'a str>,
    /// Per list (in [`ContainerList::ALL`] order), per container.
    containers: [Vec<ContainerPosition<'a>>; 3],
    /// Why a container could not be read, e.g. `containers[0]: invalid
    /// type: integer `5`, expected a string`.
    container_error: Option<String>,
}

/// Where one container's securityContext is, or can be added.
#[derive(Clone, Copy, Debug, Default)]
pub struct ContainerPosition<'a> {
    /// The securityContext, `null` included.
    pub security_context: Option<&'a str>,
    /// The container's image or name (every container has an image): a new
    /// field can go after it.
    pub anchor: Option<&'a str>,
}

impl<'a> Positions<'a> {
    pub fn container(&self, list: ContainerList, index: usize) -> ContainerPosition<'a> {
        self.containers[list as usize]
            .get(index)
            .copied()
            .unwrap_or_default()
    }
}

impl<'a> PodTemplate<'a> {
    /// The kept pod spec, when the template has one that is an object.
    pub fn spec(&self) -> Option<&Map<'a>> {
        self.fields.get("spec")?.as_object()
    }

    pub fn spec_mut(&mut self) -> Option<&mut Map<'a>> {
        self.fields.get_mut("spec")?.as_object_mut()
    }

    /// The kept template metadata (the annotations the checks read).
    pub fn metadata(&self) -> Option<&Map<'a>> {
        self.fields.get("metadata")?.as_object()
    }
}

/// Why a pod template could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum TemplateError {
    /// A kept value nests deeper than the JSON reader keeps (128 levels).
    TooDeep,
    /// One sentence that starts with where the pod spec is.
    Unreadable(String),
}

/// Reads the pod template at `template_path` of the object `text` in one
/// pass; `Ok(None)` when the object has none. What cannot be read is told
/// in one sentence that starts with `spec_path`, where the pod spec is.
pub fn read_template<'a>(
    text: &'a str,
    template_path: &'static [&'static str],
    spec_path: &str,
) -> Result<Option<PodTemplate<'a>>, TemplateError> {
    let mut scanner = Scanner::new(text);
    let mut reader = TemplateReader::default();
    let read = reader
        .read_object(&mut scanner, template_path)
        .and_then(|template| scanner.end().map(|()| template));
    match read {
        Ok(template) => Ok(template),
        Err(ScanError::TooDeep) => Err(TemplateError::TooDeep),
        Err(ScanError::Syntax | ScanError::Type) => Err(TemplateError::Unreadable(
            match reader.positions.container_error {
                Some(container_error) => format!("{spec_path}.{container_error}"),
                None => format!("{spec_path} cannot be read: {}", scanner.reason()),
            },
        )),
    }
}

/// Reads an object's kept fields, recording where its securityContexts are;
/// a reader can so read the object inside another text (the admission
/// request's, in the same pass).
#[derive(Default)]
pub struct TemplateReader<'a> {
    positions: Positions<'a>,
}

impl<'a> TemplateReader<'a> {
    /// Reads the object next in `scanner` (with its template at
    /// `template_path`); `None` when it is `null` or has no template.
    pub fn read_object(
        &mut self,
        scanner: &mut Scanner<'a>,
        template_path: &'static [&'static str],
    ) -> Scanned<Option<PodTemplate<'a>>> {
        let outside = scanner.depth();
        scanner.reset_deepest();
        let root = self.read_path(scanner, template_path, true)?;
        let nesting = scanner.deepest() - outside;
        let mut root = match root {
            Value::Null => return Ok(None),
            root => root,
        };
        let owner_references = take(&mut root, &["metadata", "ownerReferences"]);
        Ok(take(&mut root, template_path).map(|template| PodTemplate {
            fields: match template {
                Value::Object(fields) => fields,
                _ => Map::new(),
            },
            owner_references,
            positions: std::mem::take(&mut self.positions),
            nesting,
        }))
    }

    /// The objects on the way to a template keep only the next key of the
    /// path (and, at the top, `metadata.ownerReferences`).
    fn read_path(
        &mut self,
        scanner: &mut Scanner<'a>,
        path: &'static [&'static str],
        top: bool,
    ) -> Scanned<Value<'a>> {
        let Some((next, rest)) = path.split_first() else {
            return self.read(scanner, Keep::Fields(KEPT_TEMPLATE_FIELDS));
        };
        if scanner.null()? {
            return Ok(Value::Null);
        }
        if scanner.peek()? != b'{' {
            return Err(scanner.wrong_type(&format!("an object with the field \"{next}\"")));
        }
        let mut object = Map::new();
        let mut fields = scanner.fields()?;
        while let Some(key) = fields.next(scanner)? {
            let value = if same_key(&key, next) {
                self.read_path(scanner, rest, false)?
            } else if top && same_key(&key, "metadata") {
                self.read(scanner, OWNER_REFERENCES)?
            } else {
                scanner.skip()?;
                continue;
            };
            // A repeated key overrides the earlier one, as in Go's decoder.
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }

    /// Reads one value by its rule.
    fn read(&mut self, scanner: &mut Scanner<'a>, keep: Keep) -> Scanned<Value<'a>> {
        if scanner.null()? {
            return Ok(Value::Null);
        }
        let byte = scanner.peek()?;
        match keep {
            Keep::All => return scanner.value(),
            Keep::Str if byte == b'"' => return scanner.string().map(Value::String),
            Keep::Str => return Err(scanner.wrong_type("a string")),
            Keep::Int => return read_int(scanner),
            _ => {}
        }
        match byte {
            b'{' => self.read_object_by(scanner, keep),
            b'[' => self.read_list_by(scanner, keep),
            // A scalar where an object or a list must be.
            _ => match keep {
                Keep::Object(_) | Keep::PodSpec => Err(scanner.wrong_type("an object")),
                Keep::List(_) | Keep::Containers(_) => Err(scanner.wrong_type("a list")),
                _ => scanner.value(),
            },
        }
    }

    fn read_list_by(&mut self, scanner: &mut Scanner<'a>, keep: Keep) -> Scanned<Value<'a>> {
        let item_rule = match keep {
            Keep::Object(_) | Keep::PodSpec => return Err(scanner.wrong_type("an object")),
            Keep::Shape => {
                scanner.skip()?;
                return Ok(Value::Array(Vec::new()));
            }
            Keep::Containers(list) => {
                // A repeated key replaces the earlier list, as in Go's decoder.
                self.positions.containers[list as usize].clear();
                let mut containers = Vec::new();
                let mut items = scanner.items()?;
                while items.next(scanner)? {
                    containers.push(self.read_container(scanner, list)?);
                }
                return Ok(Value::Array(containers));
            }
            Keep::Items(item) | Keep::List(item) => Some(*item),
            // Not the list the rule expects: kept whole, so a check can say
            // what is wrong with it.
            _ => None,
        };
        let mut kept = Vec::new();
        let mut items = scanner.items()?;
        while items.next(scanner)? {
            kept.push(match item_rule {
                Some(rule) => self.read(scanner, rule)?,
                None => scanner.value()?,
            });
        }
        Ok(Value::Array(kept))
    }

    fn read_object_by(&mut self, scanner: &mut Scanner<'a>, keep: Keep) -> Scanned<Value<'a>> {
        let rules: &[(&str, Keep)] = match keep {
            Keep::Fields(rules)
            | Keep::Sparse(rules)
            | Keep::FieldsElseShape(rules)
            | Keep::Object(rules) => rules,
            Keep::PodSpec => KEPT_SPEC_FIELDS,
            Keep::List(_) | Keep::Containers(_) => return Err(scanner.wrong_type("a list")),
            Keep::Shape => {
                scanner.skip()?;
                return Ok(Value::Object(Map::new()));
            }
            Keep::Prefixed(_) => &[],
            // Not the object the rule expects: kept whole.
            _ => return scanner.value(),
        };
        let others = matches!(keep, Keep::FieldsElseShape(_)).then_some(Keep::Shape);
        let mut object = Map::new();
        let mut fields = scanner.fields()?;
        while let Some(key) = fields.next(scanner)? {
            let rule = match keep {
                Keep::Prefixed(prefixes) => prefixes
                    .iter()
                    .any(|prefix| key.starts_with(prefix))
                    .then_some(Keep::All),
                _ => rules
                    .iter()
                    .find(|(name, _)| same_key(name, &key))
                    .map(|(_, rule)| *rule)
                    .or(others),
            };
            let value = match rule {
                None => {
                    scanner.skip()?;
                    continue;
                }
                Some(_) if matches!(keep, Keep::PodSpec) && same_key(&key, "securityContext") => {
                    let start = scanner.start();
                    let value = scanner.value()?;
                    self.positions.pod_security_context = Some(scanner.since(start));
                    value
                }
                Some(rule @ Keep::Sparse(_)) => match self.read(scanner, rule)? {
                    Value::Object(kept) if kept.is_empty() => continue,
                    value => value,
                },
                Some(rule) => self.read(scanner, rule)?,
            };
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }

    /// Reads one container of a list, recording where its securityContext
    /// is; a container that cannot be read is named in the error.
    fn read_container(
        &mut self,
        scanner: &mut Scanner<'a>,
        list: ContainerList,
    ) -> Scanned<Value<'a>> {
        let mut position = ContainerPosition::default();
        if scanner.peek()? != b'{' {
            // Not an object: kept whole, with no position.
            self.positions.containers[list as usize].push(position);
            return scanner.value();
        }
        let mut object = Map::new();
        let mut fields = scanner.fields()?;
        while let Some(key) = fields.next(scanner)? {
            let Some((_, rule)) = KEPT_CONTAINER_FIELDS
                .iter()
                .find(|(name, _)| same_key(name, &key))
            else {
                scanner.skip()?;
                continue;
            };
            let start = scanner.start();
            let value = match self.read(scanner, *rule) {
                Ok(value) => value,
                Err(ScanError::Type) => {
                    let index = self.positions.containers[list as usize].len();
                    let reason = format!("{}[{index}]: {}", list.field(), scanner.reason());
                    self.positions.container_error = Some(reason);
                    return Err(ScanError::Type);
                }
                Err(error) => return Err(error),
            };
            // The securityContext is kept as a raw slice too, to be replaced;
            // so are the image, which every container has, and the name, for
            // a new securityContext to be written after.
            match key.as_ref() {
                "securityContext" => position.security_context = Some(scanner.since(start)),
                "image" | "name" => position.anchor = Some(scanner.since(start)),
                _ => {}
            }
            if matches!((rule, &value), (Keep::Sparse(_), Value::Object(kept)) if kept.is_empty()) {
                continue;
            }
            object.insert(key, value);
        }
        self.positions.containers[list as usize].push(position);
        Ok(Value::Object(object))
    }
}

/// An integer that fits 64 signed bits, or `null`.
fn read_int<'a>(scanner: &mut Scanner<'a>) -> Scanned<Value<'a>> {
    let start = scanner.start();
    match scanner.value() {
        Ok(Value::Number(number)) if number.as_i64().is_some() => Ok(Value::Number(number)),
        Ok(Value::Number(Number::Unsigned(number))) => {
            Err(scanner.type_error(format!("invalid value: integer `{number}`, expected i64")))
        }
        Ok(_) => {
            // Read again, to be told in serde's words.
            let mut again = Scanner::new(scanner.since(start));
            again.wrong_type("i64");
            Err(scanner.type_error(again.reason().to_owned()))
        }
        Err(error) => Err(error),
    }
}

/// Takes the value at `path` out of `value`; `None` when it is missing or
/// `null`.
fn take<'a>(value: &mut Value<'a>, path: &[&str]) -> Option<Value<'a>> {
    let mut value = value;
    for key in path {
        value = value.as_object_mut()?.get_mut(key)?;
    }
    Some(value.take()).filter(|value| !value.is_null())
}

/// The three lists of containers in a pod spec, by their field name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerList {
    Containers,
    InitContainers,
    EphemeralContainers,
}

impl ContainerList {
    /// In the order the PodSpec reference lists them.
    pub const ALL: [ContainerList; 3] = [
        ContainerList::Containers,
        ContainerList::InitContainers,
        ContainerList::EphemeralContainers,
    ];

    pub fn field(self) -> &'static str {
        match self {
            ContainerList::InitContainers => "initContainers",
            ContainerList::Containers => "containers",
            ContainerList::EphemeralContainers => "ephemeralContainers",
        }
    }
}

/// Typed reads of securityContext fields, as the API server decodes them:
/// a missing field and `null` are both unset.
pub trait Fields {
    fn field(&self, key: &str) -> Option<&Value<'_>>;

    fn is_unset(&self, key: &str) -> bool {
        self.field(key).is_none()
    }

    fn bool_field(&self, key: &str) -> Option<bool> {
        self.field(key).and_then(Value::as_bool)
    }

    fn object_field(&self, key: &str) -> Option<&Map<'_>> {
        self.field(key).and_then(Value::as_object)
    }

    fn str_field(&self, key: &str) -> Option<&str> {
        self.field(key).and_then(Value::as_str)
    }

    /// The strings of a list field (non-strings are skipped).
    fn strings(&self, key: &str) -> impl Iterator<Item = &str> {
        self.field(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
    }

    /// Whether the list field holds the string `wanted`.
    fn lists(&self, key: &str, wanted: &str) -> bool {
        self.strings(key).any(|item| item == wanted)
    }
}

impl Fields for Map<'_> {
    fn field(&self, key: &str) -> Option<&Value<'_>> {
        self.get(key).filter(|value| !value.is_null())
    }
}

impl Fields for Option<&Map<'_>> {
    fn field(&self, key: &str) -> Option<&Value<'_>> {
        self.and_then(|map| map.field(key))
    }
}

/// The seccomp profile type a securityContext sets; an empty type counts as
/// unset, as in Knative's defaulting.
pub fn seccomp_profile_type<'c>(security_context: Option<&'c Map<'c>>) -> Option<&'c str> {
    security_context?
        .field("seccompProfile")?
        .get("type")?
        .as_str()
        .filter(|profile_type| !profile_type.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{self, PssLevel, PssVersion};
    use crate::value::{from_json, parse};
    use serde_json::json;

    /// A Deployment whose pod template sets, somewhere, every field a check
    /// reads, wrongly, and many fields no check reads.
    fn everything_wrong() -> serde_json::Value {
        let handler = json!({"httpGet": {"host": "10.0.0.1", "port": 80, "path": "/"},
                              "tcpSocket": {"host": "node", "port": 22}, "exec": {"command": ["true"]}});
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"},
        "spec": {"replicas": 2, "template": {
            "metadata": {"labels": {"app": "w"}, "annotations": {
                "container.apparmor.security.beta.kubernetes.io/app": "unconfined",
                "seccomp.security.alpha.kubernetes.io/pod": "unconfined",
                "container.seccomp.security.alpha.kubernetes.io/app": "unconfined",
                "kubectl.kubernetes.io/last-applied-configuration": "{\"big\": true}"}},
            "spec": {
                "hostNetwork": true, "hostPID": "yes", "hostIPC": true, "hostUsers": true,
                "os": {"name": "linux"}, "runtimeClassName": "gvisor",
                "securityContext": {"runAsNonRoot": false, "runAsUser": 0, "runAsGroup": 0,
                    "seLinuxOptions": {"type": "spc_t", "user": "root"},
                    "seccompProfile": {"type": "Unconfined"}, "appArmorProfile": {"type": "Unconfined"},
                    "sysctls": [{"name": "kernel.msgmax", "value": "1"}], "windowsOptions": {"hostProcess": true}},
                "volumes": [
                    {"name": "host", "hostPath": {"path": "/var/run", "type": "Directory"}},
                    {"name": "nfs", "nfs": {"server": "nfs.example", "path": "/"}},
                    {"name": "cm", "configMap": {"name": "cm", "items": [{"key": "a", "path": "a"}]}},
                    {"name": "odd", "gitRepo": "not an object"}, {"name": "none"}, "not an object"],
                "initContainers": [{"name": "init", "image": "busybox", "command": ["sh"],
                    "securityContext": {"privileged": true, "procMount": "Unmasked"},
                    "ports": [{"containerPort": 53, "hostPort": 53, "protocol": "UDP"}]}],
                "containers": [{"name": "app", "image": "app:1", "env": [{"name": "A", "value": "b"}],
                    "securityContext": {"allowPrivilegeEscalation": true, "runAsUser": 0,
                        "capabilities": {"add": ["NET_ADMIN", "all"], "drop": ["NET_RAW"]},
                        "seccompProfile": {"type": "Unconfined"}},
                    "livenessProbe": handler, "readinessProbe": handler, "startupProbe": handler,
                    "lifecycle": {"postStart": handler, "preStop": handler},
                    "resources": {"limits": {"cpu": "1"}}, "volumeMounts": [{"name": "host", "mountPath": "/h"}]},
                    "a container that is a string"],
                "ephemeralContainers": [{"name": "debug", "image": "busybox",
                    "securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}}, "targetContainerName": "app"}]
            }}}})
    }

    fn violations(metadata: Option<&Map<'_>>, spec: &Map<'_>) -> Vec<String> {
        let mut all = Vec::new();
        for level in [PssLevel::Baseline, PssLevel::Restricted] {
            for minor in [0, 19, 22, 25, 34, 35, 37] {
                let found = checks::check_pod(
                    level,
                    PssVersion::v1(minor),
                    metadata,
                    spec,
                    "spec.template.spec",
                    "spec.template.metadata",
                );
                all.extend(found.iter().map(|v| format!("{level}:{minor} {v}")));
            }
        }
        let identity =
            checks::check_identity(Some(1000), Some(1000), true, spec, "spec.template.spec");
        all.extend(identity.iter().map(ToString::to_string));
        all
    }

    #[test]
    fn the_checks_find_the_same_in_the_kept_fields_as_in_the_whole_object() {
        let object = everything_wrong();
        let text = object.to_string();
        let template = read_template(&text, &["spec", "template"], "spec.template.spec")
            .unwrap()
            .unwrap();
        let whole = from_json(&object["spec"]["template"]);
        let expected = violations(
            whole["metadata"].as_object(),
            whole["spec"].as_object().unwrap(),
        );
        assert!(
            expected.len() > 40,
            "the object breaks most controls: {expected:#?}"
        );
        assert_eq!(
            violations(template.metadata(), template.spec().unwrap()),
            expected
        );
    }

    #[test]
    fn what_no_rule_reads_is_left_out() {
        let text = everything_wrong().to_string();
        let template = read_template(&text, &["spec", "template"], "spec.template.spec")
            .unwrap()
            .unwrap();
        let annotations = template.metadata().unwrap()["annotations"]
            .as_object()
            .unwrap();
        assert_eq!(
            annotations.len(),
            3,
            "only the AppArmor and seccomp annotations"
        );
        let spec = template.spec().unwrap();
        assert_eq!(spec["volumes"][2], json!({"name": "cm", "configMap": {}}));
        assert_eq!(spec["volumes"][0]["hostPath"], json!({"path": "/var/run"}));
        let app = &spec["containers"][0];
        assert!(app.get("env").is_none() && app.get("resources").is_none());
        assert_eq!(app["livenessProbe"]["httpGet"], json!({"host": "10.0.0.1"}));
        assert_eq!(
            spec["initContainers"][0]["ports"][0],
            json!({"containerPort": 53, "hostPort": 53})
        );
        assert_eq!(spec["containers"][1], json!("a container that is a string"));
        // A probe or hook that names no host is left out whole.
        let text = r#"{"spec": {"containers": [{"name": "a", "livenessProbe": {"httpGet": {"port": 80}},
            "lifecycle": {"preStop": {"exec": {"command": ["stop"]}}}, "readinessProbe": {"tcpSocket": {"host": ""}}}]}}"#;
        let template = read_template(text, &[], "spec").unwrap().unwrap();
        assert_eq!(
            template.spec().unwrap()["containers"][0],
            json!({"name": "a", "readinessProbe": {"tcpSocket": {"host": ""}}})
        );
    }

    #[test]
    fn the_nesting_learnt_on_the_way_is_the_nesting_of_the_text() {
        let deep_unknown = r#"{"a": [[{"b": [[[1]]]}]], "s": "[[[[[[[[[[[[[["}"#;
        let objects = [
            everything_wrong(),
            json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "x": serde_json::from_str::<serde_json::Value>(deep_unknown).unwrap()}]}}}}),
            json!({"spec": {"template": {"metadata": {"annotations": {"container.apparmor.security.beta.kubernetes.io/a": [[[["x"]]]]}},
                   "spec": {"securityContext": {"a": [[[[[1]]]]]}, "volumes": [{"name": "v", "nfs": {"x": [[[[[[[1]]]]]]]}}]}}}}),
            json!({"status": {"deep": [[[[[[[[[[[[1]]]]]]]]]]]]}, "spec": {"template": {"spec": {"volumes": "not a list", "containers": ["not an object", [[1]]]}}}}),
            json!({"spec": {"template": {"spec": {"initContainers": [[[[[[[[[["x"]]]]]]]]]], "containers": [{"ports": [{"containerPort": 1, "x": [[[[[1]]]]]}]}]}}}}),
        ];
        for object in objects {
            let text = object.to_string();
            let expected = crate::json::nesting(&text);
            let read = read_template(&text, &["spec", "template"], "spec.template.spec");
            let nesting = read.map(|template| template.unwrap().nesting);
            assert_eq!(nesting, Ok(expected), "{text}");
        }
    }

    #[test]
    fn a_skipped_field_may_nest_at_any_depth_a_kept_one_not() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let skipped = format!(r#"{{"spec": {{"containers": [{{"name": "a", "x": {deep}}}]}}}}"#);
        let template = read_template(&skipped, &[], "spec").unwrap().unwrap();
        assert_eq!(template.nesting, 204);
        let kept = format!(
            r#"{{"spec": {{"containers": [{{"name": "a", "securityContext": {{"x": {deep}}}}}]}}}}"#
        );
        let error = read_template(&kept, &[], "spec").unwrap_err();
        assert_eq!(error, TemplateError::TooDeep);
    }

    #[test]
    fn positions_point_into_the_text() {
        let text = r#"{"spec": {"securityContext": null, "initContainers": [{"name": "i", "image": "x"}],
            "containers": [{"name": "a", "securityContext": {"runAsUser": 1}, "env": []}, {}, {"image": "y"}]}}"#;
        let template = read_template(text, &[], "spec").unwrap().unwrap();
        let positions = &template.positions;
        assert_eq!(positions.pod_security_context.unwrap(), "null");
        let init = positions.container(ContainerList::InitContainers, 0);
        assert!(init.security_context.is_none());
        assert_eq!(init.anchor.unwrap(), r#""x""#);
        let app = positions.container(ContainerList::Containers, 0);
        assert_eq!(app.security_context.unwrap(), r#"{"runAsUser": 1}"#);
        assert_eq!(app.anchor.unwrap(), r#""a""#);
        let empty = positions.container(ContainerList::Containers, 1);
        assert!(empty.security_context.is_none() && empty.anchor.is_none());
        let unnamed = positions.container(ContainerList::Containers, 2);
        assert_eq!(unnamed.anchor.unwrap(), r#""y""#);
        assert!(
            positions
                .container(ContainerList::EphemeralContainers, 0)
                .anchor
                .is_none()
        );
    }

    #[test]
    fn a_repeated_list_replaces_the_earlier_one() {
        let text = r#"{"spec": {"containers": [{"name": "a"}, {"name": "b"}], "containers": [{"name": "c", "securityContext": {}}]}}"#;
        let template = read_template(text, &[], "spec").unwrap().unwrap();
        assert_eq!(
            template.spec().unwrap()["containers"],
            json!([{"name": "c", "securityContext": {}}])
        );
        let position = template.positions.container(ContainerList::Containers, 0);
        assert_eq!(position.security_context.unwrap(), "{}");
        assert!(
            template
                .positions
                .container(ContainerList::Containers, 1)
                .anchor
                .is_none()
        );
    }

    #[test]
    fn seccomp_type_empty_counts_as_unset() {
        let context = parse(r#"{"seccompProfile": {"type": ""}}"#);
        let context = context.as_object().unwrap();
        assert_eq!(seccomp_profile_type(Some(context)), None);
        let context = parse(r#"{"seccompProfile": {"type": "Unconfined"}}"#);
        assert_eq!(
            seccomp_profile_type(context.as_object()),
            Some("Unconfined")
        );
    }
}
