//! Who a container will run as, when its image decides: the user an image's
//! configuration names (`config.User`, a Dockerfile's `USER`), read through
//! the host, and whether `runAsNonRoot: true` is then safe to write.
//!
//! The kubelet enforces `runAsNonRoot: true` from the effective `runAsUser`
//! when one is set (refusing 0), and otherwise from the image's user: it
//! refuses a UID of 0, a user name (`nginx`, even `root`: it cannot tell
//! what a name maps to) and no user at all (the runtime starts such an
//! image as root). A refused container never starts, though its pod was
//! admitted. So `enabled` with `run_as_non_root_from_image` writes
//! `runAsNonRoot: true` only where the kubelet will accept it.
//!
//! The lookup is the host's `oci`/`v1/oci_manifest_config` capability: the
//! host fetches the image's manifest and configuration from its registry
//! (and caches them), so a request costs one host call per distinct image,
//! and only when a container's user is not known from its securityContext.
//!
//! The answer is read for `config.config.User` alone (see
//! `configured_user`) instead of with the SDK's
//! `host_capabilities::oci::get_manifest_and_config`, which reads oci-spec's
//! whole `ImageManifest` and `ImageConfiguration` (media types, digests,
//! platforms, history, timestamps) for the one string used here. Measured on
//! this module: the SDK function added 70.1 KB (483.4 KB -> 553.5 KB, past
//! the 500 KB target) and about 200 ms of CPU time to compile and
//! instantiate it (1.44-1.50 s -> 1.66-1.70 s, wasmtime, medians of 7), paid
//! at every policy-server start; the reader below is 1.8 KB, and the whole
//! setting with the ports 14.7 KB (483.4 KB -> 498.1 KB, 1.54-1.58 s). The
//! host call sends the same request.

use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// Who the user an image's configuration names is, as the kubelet reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageUser {
    /// Root: UID 0 (`0`, `0:0`), the name `root`, or no user (missing,
    /// empty, or only a group such as `:1000`).
    Root,
    /// A numeric UID other than 0, with or without a group (`1000`,
    /// `65532:65532`).
    NonRoot,
    /// Another name, with or without a group (`nginx`, `app:app`), which
    /// the kubelet cannot check.
    Named,
}

impl ImageUser {
    /// Reads `config.User` as the container runtime does: the part before
    /// the first `:`, a UID when it reads as a decimal integer, a name
    /// otherwise.
    pub fn parse(user: &str) -> ImageUser {
        let id = user.split(':').next().unwrap_or_default();
        match id.parse::<i64>() {
            Ok(0) => ImageUser::Root,
            Ok(_) => ImageUser::NonRoot,
            Err(_) if id.is_empty() || id == "root" => ImageUser::Root,
            Err(_) => ImageUser::Named,
        }
    }
}

/// Whether `runAsNonRoot: true` may be written on a container whose rule
/// would write it, and if not, why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The container will run as a non-zero UID: the kubelet accepts it.
    NonRoot,
    /// The container or its pod sets `runAsUser: 0`.
    RunAsUserZero,
    /// The image runs as root: UID 0, the name `root`, or no user. `user`
    /// is `config.User` as written (empty for none).
    RootImage { image: String, user: String },
    /// The image's user is a name the kubelet cannot check.
    NamedUser { image: String, user: String },
    /// The image's configuration could not be read.
    Unreadable { image: String, reason: String },
}

impl Verdict {
    /// The verdict for a container that leaves `runAsNonRoot` unset, from
    /// its effective `runAsUser` (its own, else its pod's, else the one the
    /// fixed identity writes) and, only when there is none, its image's
    /// user.
    pub fn decide(run_as_user: Option<i64>, image: &str, users: &mut ImageUsers) -> Verdict {
        match run_as_user {
            Some(0) => Verdict::RunAsUserZero,
            Some(_) => Verdict::NonRoot,
            None => match users.user(image) {
                Ok(user) => match ImageUser::parse(&user) {
                    ImageUser::NonRoot => Verdict::NonRoot,
                    ImageUser::Named => Verdict::NamedUser {
                        image: image.to_owned(),
                        user,
                    },
                    ImageUser::Root => Verdict::RootImage {
                        image: image.to_owned(),
                        user,
                    },
                },
                Err(reason) => Verdict::Unreadable {
                    image: image.to_owned(),
                    reason,
                },
            },
        }
    }

    /// Why `runAsNonRoot` was left unset, for a warning and for the
    /// runAsNonRoot check's message (`None` for [`Verdict::NonRoot`]).
    pub fn reason(&self) -> Option<String> {
        const IMAGE_CHARS: usize = 100;
        let image = |image: &str| crate::response::shorten(image, IMAGE_CHARS);
        Some(match self {
            Verdict::NonRoot => return None,
            Verdict::RunAsUserZero => "it runs as runAsUser 0".to_owned(),
            Verdict::RootImage { image: name, user } if user.is_empty() => {
                format!("image {} runs as root: it names no user", image(name))
            }
            Verdict::RootImage { image: name, user } => {
                format!("image {} runs as root: its user is {user:?}", image(name))
            }
            Verdict::NamedUser { image: name, user } => format!(
                "image {} runs as user {user:?}, a name the kubelet cannot check",
                image(name)
            ),
            Verdict::Unreadable {
                image: name,
                reason,
            } if reason.is_empty() => {
                format!("image {} could not be read", image(name))
            }
            Verdict::Unreadable {
                image: name,
                reason,
            } => {
                format!("image {} could not be read: {reason}", image(name))
            }
        })
    }

    /// The warning for a container left at `root-allowed` (`None` for
    /// [`Verdict::NonRoot`]), without its subject.
    pub fn warning(&self) -> Option<String> {
        let mut warning = format!("runAsNonRoot not defaulted: {}", self.reason()?);
        if let Verdict::NamedUser { .. } = self {
            warning.push_str("; use a numeric USER in the image, or set runAsUser");
        }
        Some(warning)
    }
}

/// How the configured user of one image is read: `Ok(None)` when the
/// configuration names none, `Err` with the host's reason when it cannot be
/// read.
pub type ReadUser = fn(&str) -> Result<Option<String>, String>;

/// The users of the images of one request, each read once.
pub struct ImageUsers {
    read: ReadUser,
    /// Each image read, with `config.User` as written (empty for none) or
    /// why it could not be read. A pod has a few images: a list is enough.
    read_already: Vec<(String, Result<String, String>)>,
}

impl ImageUsers {
    /// Images read through the host.
    pub fn from_host() -> ImageUsers {
        ImageUsers::new(configured_user)
    }

    pub fn new(read: ReadUser) -> ImageUsers {
        ImageUsers {
            read,
            read_already: Vec::new(),
        }
    }

    /// The user of `image` as written (empty for none), from the host the
    /// first time it is asked for.
    pub fn user(&mut self, image: &str) -> Result<String, String> {
        if let Some((_, known)) = self.read_already.iter().find(|(read, _)| read == image) {
            return known.clone();
        }
        let user = if image.is_empty() {
            Err("the container names no image".to_owned())
        } else {
            (self.read)(image).map(Option::unwrap_or_default)
        };
        self.read_already.push((image.to_owned(), user.clone()));
        user
    }

    /// How many images were read (host calls made).
    pub fn reads(&self) -> usize {
        self.read_already.len()
    }
}

/// Asks the host for `image`'s manifest and configuration, the request the
/// SDK's `oci::get_manifest_and_config` sends, and reads its user,
/// `config.config.User` of `{manifest, digest, config}`. Each level is read
/// as a map of raw values, a reader the module has already, and only the key
/// that leads on is read further.
fn configured_user(image: &str) -> Result<Option<String>, String> {
    let request = serde_json::to_vec(image).map_err(|error| error.to_string())?;
    let answer = kubewarden_policy_sdk::wapc_guest::host_call(
        "kubewarden",
        "oci",
        "v1/oci_manifest_config",
        &request,
    )
    .map_err(|error| host_reason(&error.to_string()))?;
    user_in_answer(&answer).map_err(|error| format!("the host's answer cannot be read: {error}"))
}

/// `config.config.User` in the host's answer; `None` where a level is
/// missing or `null`.
fn user_in_answer(answer: &[u8]) -> Result<Option<String>, serde_json::Error> {
    let mut level: &[u8] = answer;
    for key in ["config", "config", "User"] {
        let map: BTreeMap<String, &RawValue> = serde_json::from_slice(level)?;
        match map.get(key).map(|value| value.get()) {
            None | Some("null") => return Ok(None),
            Some(value) => level = &answer[offset_in(answer, value)..][..value.len()],
        }
    }
    serde_json::from_slice(level).map(Some)
}

/// Where `part`, a slice of `whole`, starts in it.
fn offset_in(whole: &[u8], part: &str) -> usize {
    (part.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize)
}

/// The host's reason without the wrappers the waPC library and
/// policy-evaluator put around it, on one line (a host may add the causes
/// and a backtrace on the lines that follow).
fn host_reason(error: &str) -> String {
    let first_line = error.lines().next().unwrap_or_default();
    let reason = first_line
        .strip_prefix("Host error: ")
        .unwrap_or(first_line);
    let reason = reason
        .strip_prefix("Callback evaluation failure: ")
        .unwrap_or(reason);
    crate::response::shorten(reason.trim(), 80)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_reads_as_the_runtime_reads_it() {
        let cases = [
            ("", ImageUser::Root),
            (":1000", ImageUser::Root),
            ("0", ImageUser::Root),
            ("0:0", ImageUser::Root),
            ("root", ImageUser::Root),
            ("root:root", ImageUser::Root),
            ("1000", ImageUser::NonRoot),
            ("65532:65532", ImageUser::NonRoot),
            ("1000:app", ImageUser::NonRoot),
            ("+7", ImageUser::NonRoot),
            ("nginx", ImageUser::Named),
            ("app:app", ImageUser::Named),
            ("0:root", ImageUser::Root),
            ("1000x", ImageUser::Named),
            (" 1000", ImageUser::Named),
            // Past an int64: a name, as for the runtime's ParseInt.
            ("99999999999999999999", ImageUser::Named),
        ];
        for (user, read) in cases {
            assert_eq!(ImageUser::parse(user), read, "{user:?}");
        }
    }

    fn registry(image: &str) -> Result<Option<String>, String> {
        match image {
            "registry.example.com/shop/web:3.0" => Ok(Some("65532:65532".into())),
            "docker.io/library/nginx:1.27" => Ok(Some("nginx".into())),
            "docker.io/library/busybox:1.36" => Ok(None),
            "registry.example.com/tools/root:1" => Ok(Some("0:0".into())),
            "registry.example.com/tools/named-root:1" => Ok(Some("root".into())),
            _ => Err("registry unreachable".into()),
        }
    }

    fn decide(run_as_user: Option<i64>, image: &str) -> Verdict {
        Verdict::decide(run_as_user, image, &mut ImageUsers::new(registry))
    }

    #[test]
    fn a_non_zero_uid_is_safe_and_root_or_names_are_not() {
        assert_eq!(
            decide(None, "registry.example.com/shop/web:3.0"),
            Verdict::NonRoot
        );
        for (image, user) in [
            ("docker.io/library/busybox:1.36", ""),
            ("registry.example.com/tools/root:1", "0:0"),
            ("registry.example.com/tools/named-root:1", "root"),
        ] {
            assert_eq!(
                decide(None, image),
                Verdict::RootImage {
                    image: image.into(),
                    user: user.into()
                }
            );
        }
        assert_eq!(
            decide(None, "docker.io/library/nginx:1.27"),
            Verdict::NamedUser {
                image: "docker.io/library/nginx:1.27".into(),
                user: "nginx".into()
            }
        );
        assert_eq!(
            decide(None, "registry.example.com/private/app:1"),
            Verdict::Unreadable {
                image: "registry.example.com/private/app:1".into(),
                reason: "registry unreachable".into()
            }
        );
    }

    #[test]
    fn run_as_user_decides_without_a_lookup() {
        fn no_lookup(image: &str) -> Result<Option<String>, String> {
            panic!("{image} was looked up")
        }
        let mut users = ImageUsers::new(no_lookup);
        let image = "docker.io/library/nginx:1.27";
        assert_eq!(
            Verdict::decide(Some(65534), image, &mut users),
            Verdict::NonRoot
        );
        assert_eq!(
            Verdict::decide(Some(0), image, &mut users),
            Verdict::RunAsUserZero
        );
        assert_eq!(users.reads(), 0);
    }

    #[test]
    fn each_image_is_read_once() {
        let mut users = ImageUsers::new(registry);
        for image in [
            "docker.io/library/nginx:1.27",
            "registry.example.com/shop/web:3.0",
            "docker.io/library/nginx:1.27",
            "registry.example.com/private/app:1",
            "registry.example.com/private/app:1",
        ] {
            Verdict::decide(None, image, &mut users);
        }
        assert_eq!(users.reads(), 3);
        // A container without an image is not sent to the host.
        assert!(users.user("").is_err());
        assert_eq!(users.reads(), 4);
    }

    #[test]
    fn warnings_name_the_image_and_why() {
        let warning = |image: &str| decide(None, image).warning();
        assert_eq!(warning("registry.example.com/shop/web:3.0"), None);
        assert_eq!(
            warning("docker.io/library/busybox:1.36").unwrap(),
            "runAsNonRoot not defaulted: image docker.io/library/busybox:1.36 runs as root: it names no user"
        );
        assert_eq!(
            warning("registry.example.com/tools/root:1").unwrap(),
            "runAsNonRoot not defaulted: image registry.example.com/tools/root:1 runs as root: its user is \"0:0\""
        );
        assert_eq!(
            warning("docker.io/library/nginx:1.27").unwrap(),
            "runAsNonRoot not defaulted: image docker.io/library/nginx:1.27 runs as user \"nginx\", \
             a name the kubelet cannot check; use a numeric USER in the image, or set runAsUser"
        );
        assert_eq!(
            warning("registry.example.com/private/app:1").unwrap(),
            "runAsNonRoot not defaulted: image registry.example.com/private/app:1 could not be read: registry unreachable"
        );
        assert_eq!(
            Verdict::RunAsUserZero.warning().unwrap(),
            "runAsNonRoot not defaulted: it runs as runAsUser 0"
        );
    }

    #[test]
    fn the_host_wrappers_are_taken_off_its_reason() {
        assert_eq!(
            host_reason("Host error: Callback evaluation failure: registry unreachable"),
            "registry unreachable"
        );
        assert_eq!(
            host_reason(
                "Host error: Callback evaluation failure: timed out\n\nStack backtrace:\n 0: x"
            ),
            "timed out"
        );
        assert_eq!(
            host_reason(
                "Host error: Policy has not been granted access to the 'oci/v1/oci_manifest_config' host capability. The violation has been reported."
            ),
            "Policy has not been granted access to the 'oci/v1/oci_manifest_config' host cap…"
        );
    }

    #[test]
    fn the_answer_is_read_for_its_user_only() {
        let answer = br#"{"manifest": {"schemaVersion": 2, "layers": []}, "digest": "sha256:00",
            "config": {"architecture": "amd64", "os": "linux", "config": {"User": "1000", "Env": ["A=b"]},
            "rootfs": {"type": "layers", "diff_ids": []}, "history": []}}"#;
        assert_eq!(user_in_answer(answer).unwrap().as_deref(), Some("1000"));
        for no_user in [
            &br#"{"config": {"os": "linux"}}"#[..],
            br#"{"config": {"config": null}}"#,
            br#"{"config": {"config": {"User": null}}}"#,
            br#"{"manifest": {}}"#,
        ] {
            assert_eq!(user_in_answer(no_user).unwrap(), None);
        }
        assert!(user_in_answer(br#"{"config": {"config": {"User": 0}}}"#).is_err());
        assert!(user_in_answer(b"[]").is_err());
    }
}
