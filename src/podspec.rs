//! A pod template read in one pass: the fields the defaults and the checks
//! read, as small JSON values, and where each securityContext sits in the
//! request text, so an edit can be spliced in place.
//!
//! Most of a pod spec is environment variables, commands, resources, mounts
//! and probe timings, which no rule reads. They are skipped while reading,
//! never built into a tree: [`KEPT_SPEC_FIELDS`] and [`KEPT_CONTAINER_FIELDS`]
//! say what is kept, and a test runs every check on the kept fields and on
//! the whole object to show the two agree.

use crate::json::{Deepest, Key, Skip};
use crate::value::{Map, Value};
use serde::Deserialize;
use serde::de::{
    DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Unexpected, Visitor,
};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

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
    pub pod_security_context: Option<&'a RawValue>,
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
    pub security_context: Option<&'a RawValue>,
    /// The container's image or name (every container has an image): a new
    /// field can go after it.
    pub anchor: Option<&'a RawValue>,
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
    /// The object nests deeper than the JSON reader goes (128 levels).
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
    let state = TemplateState::default();
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let read = state
        .seed(template_path)
        .deserialize(&mut deserializer)
        .and_then(|root| deserializer.end().map(|()| root));
    match read {
        Ok(root) => Ok(state.finish(root, template_path)),
        Err(error) if error.to_string().starts_with("recursion limit exceeded") => {
            Err(TemplateError::TooDeep)
        }
        Err(error) => Err(TemplateError::Unreadable(
            match state.positions.into_inner().container_error {
                Some(container_error) => format!("{spec_path}.{container_error}"),
                None => format!("{spec_path} cannot be read: {}", error_text(&error)),
            },
        )),
    }
}

/// What reading a template learns besides the kept values: where the
/// securityContexts are and how deep the object nests. A template can so be
/// read by [`TemplateState::seed`] inside another deserializer (the
/// admission request's, in the same pass).
#[derive(Default)]
pub struct TemplateState<'a> {
    positions: RefCell<Positions<'a>>,
    deepest: Deepest,
}

impl<'a> TemplateState<'a> {
    /// Reads an object (with its template at `template_path`) into the
    /// kept values, recording into this state.
    pub fn seed<'r>(&'r self, template_path: &'static [&'static str]) -> Reader<'r, 'a> {
        Reader {
            keep: Keep::Path(template_path),
            positions: &self.positions,
            depth: 0,
            deepest: &self.deepest,
        }
    }

    /// The template, from what `seed` read.
    pub fn finish(
        self,
        mut root: Value<'a>,
        template_path: &'static [&'static str],
    ) -> Option<PodTemplate<'a>> {
        let owner_references = take(&mut root, &["metadata", "ownerReferences"]);
        take(&mut root, template_path).map(|template| PodTemplate {
            fields: match template {
                Value::Object(fields) => fields,
                _ => Map::new(),
            },
            owner_references,
            positions: self.positions.into_inner(),
            nesting: self.deepest.get(),
        })
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

/// Reads `text`, one JSON value, keeping what `keep` says: a container's
/// image, name or securityContext taken as raw text on the way, and tests.
/// No positions are recorded.
pub fn read_kept(text: &str, keep: Keep) -> Result<Value<'_>, serde_json::Error> {
    let positions = RefCell::new(Positions::default());
    let deepest = Deepest::default();
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = Reader {
        keep,
        positions: &positions,
        depth: 0,
        deepest: &deepest,
    }
    .deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// Reads one value by its rule, recording positions.
#[derive(Clone, Copy)]
pub struct Reader<'r, 'a> {
    keep: Keep,
    positions: &'r RefCell<Positions<'a>>,
    /// The number of objects and lists around the value read.
    depth: usize,
    deepest: &'r Deepest,
}

impl<'r, 'a> Reader<'r, 'a> {
    /// This value read by another rule.
    fn with(self, keep: Keep) -> Reader<'r, 'a> {
        Reader { keep, ..self }
    }

    /// The reader of a field or item of this value.
    fn child(self, keep: Keep) -> Reader<'r, 'a> {
        Reader {
            keep,
            depth: self.depth + 1,
            ..self
        }
    }

    /// The skipper of a field or item of this value.
    fn skip(self) -> Skip<'r> {
        Skip {
            depth: self.depth + 1,
            deepest: self.deepest,
        }
    }

    /// A field or item of this value read whole.
    fn whole(self, value: Value) -> Value {
        self.deepest.record(self.depth + 1, value.levels());
        value
    }
}

impl<'a> DeserializeSeed<'a> for Reader<'_, 'a> {
    type Value = Value<'a>;

    fn deserialize<D: Deserializer<'a>>(self, deserializer: D) -> Result<Value<'a>, D::Error> {
        match self.keep {
            Keep::Path([]) => self
                .with(Keep::Fields(KEPT_TEMPLATE_FIELDS))
                .deserialize(deserializer),
            Keep::All => {
                let value = Value::deserialize(deserializer)?;
                self.deepest.record(self.depth, value.levels());
                Ok(value)
            }
            Keep::Str => Option::<Key>::deserialize(deserializer)
                .map(|text| text.map_or(Value::Null, |Key(text)| Value::String(text))),
            Keep::Int => Option::<i64>::deserialize(deserializer)
                .map(|number| number.map_or(Value::Null, Value::from)),
            _ => deserializer.deserialize_any(self),
        }
    }
}

impl<'a> Reader<'_, 'a> {
    /// Whether the rule refuses a value of another type than its own.
    fn is_strict(self) -> bool {
        matches!(
            self.keep,
            Keep::Path(_) | Keep::Object(_) | Keep::List(_) | Keep::PodSpec | Keep::Containers(_)
        )
    }

    /// A scalar (or `null`, always allowed): kept, unless the rule wants an
    /// object or a list.
    fn scalar<E: serde::de::Error>(
        self,
        value: Value<'a>,
        found: Unexpected,
    ) -> Result<Value<'a>, E> {
        if self.is_strict() && !value.is_null() {
            Err(E::invalid_type(found, &self))
        } else {
            Ok(value)
        }
    }
}

impl<'a> Visitor<'a> for Reader<'_, 'a> {
    type Value = Value<'a>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        if let Keep::Path([next, ..]) = self.keep {
            return write!(formatter, "an object with the field \"{next}\"");
        }
        formatter.write_str(match self.keep {
            Keep::Object(_) | Keep::PodSpec => "an object",
            Keep::List(_) | Keep::Containers(_) => "a list",
            _ => "any JSON value",
        })
    }
    fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<Value<'a>, E> {
        self.scalar(Value::Bool(value), Unexpected::Bool(value))
    }
    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Value<'a>, E> {
        self.scalar(Value::from(value), Unexpected::Signed(value))
    }
    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Value<'a>, E> {
        self.scalar(Value::from(value), Unexpected::Unsigned(value))
    }
    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Value<'a>, E> {
        self.scalar(Value::from(value), Unexpected::Float(value))
    }
    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Value<'a>, E> {
        self.scalar(
            Value::String(Cow::Owned(value.to_owned())),
            Unexpected::Str(value),
        )
    }
    fn visit_borrowed_str<E: serde::de::Error>(self, value: &'a str) -> Result<Value<'a>, E> {
        self.scalar(Value::String(Cow::Borrowed(value)), Unexpected::Str(value))
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Value<'a>, E> {
        Ok(Value::Null)
    }

    fn visit_seq<S: SeqAccess<'a>>(self, mut seq: S) -> Result<Value<'a>, S::Error> {
        let mut items = Vec::new();
        self.deepest.record(self.depth, 1);
        match self.keep {
            Keep::Path(_) | Keep::Object(_) | Keep::PodSpec => {
                return Err(serde::de::Error::invalid_type(Unexpected::Seq, &self));
            }
            Keep::Shape => while seq.next_element_seed(self.skip())?.is_some() {},
            Keep::Items(item) | Keep::List(item) => {
                while let Some(value) = seq.next_element_seed(self.child(*item))? {
                    items.push(value);
                }
            }
            Keep::Containers(list) => {
                // A repeated key replaces the earlier list, as in Go's decoder.
                self.positions.borrow_mut().containers[list as usize].clear();
                while let Some(value) = seq.next_element_seed(ContainerReader {
                    list,
                    reader: self.child(Keep::All),
                })? {
                    items.push(value);
                }
            }
            // Not the list the rule expects: kept whole, so a check can say
            // what is wrong with it.
            _ => {
                while let Some(value) = seq.next_element::<Value>()? {
                    items.push(self.whole(value));
                }
            }
        }
        Ok(Value::Array(items))
    }

    fn visit_map<M: MapAccess<'a>>(self, mut map: M) -> Result<Value<'a>, M::Error> {
        let mut object = Map::new();
        self.deepest.record(self.depth, 1);
        let fields: &[(&str, Keep)] = match self.keep {
            Keep::Shape => {
                while map.next_key::<IgnoredAny>()?.is_some() {
                    map.next_value_seed(self.skip())?;
                }
                return Ok(Value::Object(object));
            }
            Keep::Prefixed(prefixes) => {
                while let Some(Key(key)) = map.next_key()? {
                    if prefixes.iter().any(|prefix| key.starts_with(prefix)) {
                        let value = self.whole(map.next_value()?);
                        object.insert(key, value);
                    } else {
                        map.next_value_seed(self.skip())?;
                    }
                }
                return Ok(Value::Object(object));
            }
            Keep::Path(path) => {
                let (next, rest) = path.split_first().expect("an empty path is the template");
                while let Some(Key(key)) = map.next_key()? {
                    let rule = if key == *next {
                        Keep::Path(rest)
                    } else if self.depth == 0 && key == "metadata" {
                        OWNER_REFERENCES
                    } else {
                        map.next_value_seed(self.skip())?;
                        continue;
                    };
                    // A repeated key overrides the earlier one, as in Go's decoder.
                    let value = map.next_value_seed(self.child(rule))?;
                    object.insert(key, value);
                }
                return Ok(Value::Object(object));
            }
            Keep::Fields(fields)
            | Keep::Sparse(fields)
            | Keep::FieldsElseShape(fields)
            | Keep::Object(fields) => fields,
            Keep::PodSpec => KEPT_SPEC_FIELDS,
            Keep::List(_) | Keep::Containers(_) => {
                return Err(serde::de::Error::invalid_type(Unexpected::Map, &self));
            }
            // Not the object the rule expects: kept whole.
            Keep::All | Keep::Items(_) | Keep::Str | Keep::Int => {
                while let Some((Key(key), value)) = map.next_entry::<Key, Value>()? {
                    object.insert(key, self.whole(value));
                }
                return Ok(Value::Object(object));
            }
        };
        let is_pod_spec = matches!(self.keep, Keep::PodSpec);
        let others = matches!(self.keep, Keep::FieldsElseShape(_)).then_some(Keep::Shape);
        while let Some(Key(key)) = map.next_key()? {
            let rule = fields
                .iter()
                .find(|(name, _)| *name == key)
                .map(|(_, rule)| *rule)
                .or(others);
            let value = match rule {
                Some(_) if is_pod_spec && key == "securityContext" => {
                    let raw: &'a RawValue = map.next_value()?;
                    self.positions.borrow_mut().pod_security_context = Some(raw);
                    self.whole(serde_json::from_str(raw.get()).map_err(serde::de::Error::custom)?)
                }
                Some(rule @ Keep::Sparse(_)) => match map.next_value_seed(self.child(rule))? {
                    Value::Object(kept) if kept.is_empty() => continue,
                    value => value,
                },
                Some(rule) => map.next_value_seed(self.child(rule))?,
                None => {
                    map.next_value_seed(self.skip())?;
                    continue;
                }
            };
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// Reads one container of a list, recording where its securityContext is.
struct ContainerReader<'r, 'a> {
    list: ContainerList,
    /// Where the container is (its `keep` is not used).
    reader: Reader<'r, 'a>,
}

impl<'a> DeserializeSeed<'a> for ContainerReader<'_, 'a> {
    type Value = Value<'a>;

    fn deserialize<D: Deserializer<'a>>(self, deserializer: D) -> Result<Value<'a>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'a> ContainerReader<'_, 'a> {
    fn record(&self, position: ContainerPosition<'a>) {
        self.reader.positions.borrow_mut().containers[self.list as usize].push(position);
    }

    /// A list entry that is not an object: kept whole, with no position.
    fn not_an_object<E>(&self, value: Value<'a>) -> Result<Value<'a>, E> {
        self.record(ContainerPosition::default());
        let reader = self.reader;
        reader.deepest.record(reader.depth, value.levels());
        Ok(value)
    }
}

impl<'a> Visitor<'a> for ContainerReader<'_, 'a> {
    type Value = Value<'a>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a container")
    }
    fn visit_bool<E>(self, value: bool) -> Result<Value<'a>, E> {
        self.not_an_object(Value::Bool(value))
    }
    fn visit_i64<E>(self, value: i64) -> Result<Value<'a>, E> {
        self.not_an_object(Value::from(value))
    }
    fn visit_u64<E>(self, value: u64) -> Result<Value<'a>, E> {
        self.not_an_object(Value::from(value))
    }
    fn visit_f64<E>(self, value: f64) -> Result<Value<'a>, E> {
        self.not_an_object(Value::from(value))
    }
    fn visit_str<E>(self, value: &str) -> Result<Value<'a>, E> {
        self.not_an_object(Value::String(Cow::Owned(value.to_owned())))
    }
    fn visit_borrowed_str<E>(self, value: &'a str) -> Result<Value<'a>, E> {
        self.not_an_object(Value::String(Cow::Borrowed(value)))
    }
    fn visit_unit<E>(self) -> Result<Value<'a>, E> {
        self.not_an_object(Value::Null)
    }
    fn visit_seq<S: SeqAccess<'a>>(self, mut seq: S) -> Result<Value<'a>, S::Error> {
        let mut items = Vec::new();
        while let Some(value) = seq.next_element::<Value>()? {
            items.push(value);
        }
        self.not_an_object(Value::Array(items))
    }

    fn visit_map<M: MapAccess<'a>>(self, mut map: M) -> Result<Value<'a>, M::Error> {
        let mut object = Map::new();
        let mut position = ContainerPosition::default();
        let reader = self.reader;
        reader.deepest.record(reader.depth, 1);
        while let Some(Key(key)) = map.next_key()? {
            let Some((_, rule)) = KEPT_CONTAINER_FIELDS.iter().find(|(name, _)| *name == key)
            else {
                map.next_value_seed(reader.skip())?;
                continue;
            };
            // The securityContext is kept as a raw slice too, to be replaced;
            // so are the image, which every container has, and the name, for
            // a new securityContext to be written after.
            let value = match key.as_ref() {
                "securityContext" | "image" | "name" => {
                    let raw: &'a RawValue = map.next_value()?;
                    if key == "securityContext" {
                        position.security_context = Some(raw);
                    } else {
                        position.anchor = Some(raw);
                    }
                    read_kept(raw.get(), *rule)
                        .map(|value| reader.whole(value))
                        .map_err(|error| error_text(&error))
                }
                _ => map
                    .next_value_seed(reader.child(*rule))
                    .map_err(|error| without_position(&error.to_string())),
            };
            let value = value.map_err(|reason| {
                let mut positions = reader.positions.borrow_mut();
                let index = positions.containers[self.list as usize].len();
                let reason = format!("{}[{index}]: {reason}", self.list.field());
                positions.container_error = Some(reason.clone());
                serde::de::Error::custom(reason)
            })?;
            if matches!((rule, &value), (Keep::Sparse(_), Value::Object(kept)) if kept.is_empty()) {
                continue;
            }
            object.insert(key, value);
        }
        self.record(position);
        Ok(Value::Object(object))
    }
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

/// A serde error without its line and column, which point into a fragment
/// of the request and would only mislead.
pub fn error_text(error: &serde_json::Error) -> String {
    without_position(&error.to_string())
}

fn without_position(text: &str) -> String {
    match text.find(" at line ") {
        Some(cut) => text[..cut].to_string(),
        None => text.to_string(),
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
    fn json_deeper_than_the_reader_goes_is_too_deep() {
        let mut text = String::from(r#"{"spec": {"containers": [{"name": "a", "x": "#);
        text.push_str(&"[".repeat(200));
        text.push_str(&"]".repeat(200));
        text.push_str("}]}}");
        let error = read_template(&text, &[], "spec").unwrap_err();
        assert_eq!(error, TemplateError::TooDeep);
    }

    #[test]
    fn positions_point_into_the_text() {
        let text = r#"{"spec": {"securityContext": null, "initContainers": [{"name": "i", "image": "x"}],
            "containers": [{"name": "a", "securityContext": {"runAsUser": 1}, "env": []}, {}, {"image": "y"}]}}"#;
        let template = read_template(text, &[], "spec").unwrap().unwrap();
        let positions = &template.positions;
        assert_eq!(positions.pod_security_context.unwrap().get(), "null");
        let init = positions.container(ContainerList::InitContainers, 0);
        assert!(init.security_context.is_none());
        assert_eq!(init.anchor.unwrap().get(), r#""x""#);
        let app = positions.container(ContainerList::Containers, 0);
        assert_eq!(app.security_context.unwrap().get(), r#"{"runAsUser": 1}"#);
        assert_eq!(app.anchor.unwrap().get(), r#""a""#);
        let empty = positions.container(ContainerList::Containers, 1);
        assert!(empty.security_context.is_none() && empty.anchor.is_none());
        let unnamed = positions.container(ContainerList::Containers, 2);
        assert_eq!(unnamed.anchor.unwrap().get(), r#""y""#);
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
        assert_eq!(position.security_context.unwrap().get(), "{}");
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
