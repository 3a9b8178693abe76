//! The Pod Security Standards checks, as Kubernetes Pod Security Admission
//! (PSA, `k8s.io/pod-security-admission/policy`) evaluates them, with
//! version pinning; and the fixed-identity profile ([`check_identity`]).
//!
//! Each control is one small module holding its PSA check ID, its level and
//! its versioned implementations, like PSA's `check_*.go` files. [`CHECKS`]
//! registers them all in one table. Choosing what runs for a level and a
//! version follows PSA's `registry.go`:
//! - `privileged` runs nothing;
//! - `baseline` runs every baseline check; `restricted` runs every baseline
//!   and restricted check, except the baseline checks that a restricted
//!   check applying at that version overrides (`restrictedVolumes` overrides
//!   `hostPathVolumes`, `capabilities_restricted` overrides
//!   `capabilities_baseline` from v1.22, `seccompProfile_restricted`
//!   overrides `seccompProfile_baseline` from v1.19, `procMount_restricted`
//!   overrides `procMount` from v1.35);
//! - of a check's implementations, the newest whose minimum version is at or
//!   below the requested one runs; a check whose first version is newer does
//!   not run at all;
//! - `latest`, and any version above the newest one a check knows, resolve
//!   to the newest version of the table ([`PssVersion::NEWEST`]).
//!
//! Containers are visited as PSA's `visitContainers` does: initContainers
//! (restartable sidecars included, with no special case), containers, then
//! ephemeralContainers. How JSON that PSA's Go decoder could not have
//! produced is treated is described in [`pod`].

mod allow_privilege_escalation;
mod app_armor;
mod capabilities_baseline;
mod capabilities_restricted;
mod host_namespaces;
mod host_path_volumes;
mod host_ports;
mod host_probes;
mod identity;
pub mod pod;
mod privileged;
mod proc_mount;
mod restricted_volumes;
mod run_as_non_root;
mod run_as_user;
mod se_linux;
mod seccomp_baseline;
mod seccomp_restricted;
mod sysctls;
mod windows_host_process;

#[cfg(test)]
mod tests;

pub use identity::{IDENTITY_CONTROL, check_identity};

use crate::podspec::Pod;
use crate::violation::{Violation, sort_and_dedup};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A Pod Security Standards level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PssLevel {
    /// No checks.
    Privileged,
    Baseline,
    /// Baseline plus the restricted checks.
    Restricted,
}

impl PssLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            PssLevel::Privileged => "privileged",
            PssLevel::Baseline => "baseline",
            PssLevel::Restricted => "restricted",
        }
    }
}

impl fmt::Display for PssLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PssLevel {
    type Err = String;

    fn from_str(text: &str) -> Result<PssLevel, String> {
        match text {
            "privileged" => Ok(PssLevel::Privileged),
            "baseline" => Ok(PssLevel::Baseline),
            "restricted" => Ok(PssLevel::Restricted),
            _ => Err(format!(
                "unknown Pod Security Standards level {text:?}: use privileged, baseline or restricted"
            )),
        }
    }
}

impl Serialize for PssLevel {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for PssLevel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<PssLevel, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A Pod Security Standards version: `v1.0` … `v1.37`, or `latest`.
///
/// Ordered like PSA's `api.Version`: `latest` is newer than every version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PssVersion {
    /// The minor of `v1.minor`; `u32::MAX` stands for `latest`.
    minor: u32,
}

impl PssVersion {
    /// The newest minor this build knows (the highest minimum version in
    /// [`CHECKS`], which is what PSA resolves `latest` to).
    pub const NEWEST_MINOR: u32 = 37;
    /// `v1.37`.
    pub const NEWEST: PssVersion = PssVersion {
        minor: Self::NEWEST_MINOR,
    };
    /// `latest`: always the newest version of the checks.
    pub const LATEST: PssVersion = PssVersion { minor: u32::MAX };

    /// `v1.minor`.
    pub const fn v1(minor: u32) -> PssVersion {
        PssVersion { minor }
    }

    pub fn is_latest(self) -> bool {
        self.minor == u32::MAX
    }

    /// The minor of the version the checks are evaluated at: `latest` (and
    /// anything newer than the table) is [`PssVersion::NEWEST_MINOR`].
    pub fn resolved_minor(self) -> u32 {
        self.minor.min(Self::NEWEST_MINOR)
    }
}

impl fmt::Display for PssVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_latest() {
            f.write_str("latest")
        } else {
            write!(f, "v1.{}", self.minor)
        }
    }
}

impl FromStr for PssVersion {
    type Err = String;

    /// `latest`, or `v1.N` with N from 0 to 37 written without leading zeros
    /// (the form PSA's namespace labels take).
    fn from_str(text: &str) -> Result<PssVersion, String> {
        if text == "latest" {
            return Ok(PssVersion::LATEST);
        }
        let minor = text
            .strip_prefix("v1.")
            .filter(|digits| {
                !digits.is_empty()
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && (digits.len() == 1 || !digits.starts_with('0'))
            })
            .and_then(|digits| digits.parse::<u32>().ok())
            .filter(|&minor| minor <= Self::NEWEST_MINOR);
        minor.map(PssVersion::v1).ok_or_else(|| {
            format!(
                "unknown Pod Security Standards version {text:?}: use v1.0 … v1.{} or latest",
                Self::NEWEST_MINOR
            )
        })
    }
}

impl Serialize for PssVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PssVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<PssVersion, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One implementation of a check: it adds what it finds in the pod to the
/// list, so every check of a request fills one list.
pub type CheckFn = fn(&Pod<'_>, &mut Vec<Violation>);

/// A check's implementation from `since` until the next one's `since`.
#[derive(Clone, Copy)]
pub struct VersionedCheck {
    pub since: PssVersion,
    /// PSA's `OverrideCheckIDs`: the baseline checks this restricted
    /// implementation replaces while it applies.
    pub overrides: &'static [&'static str],
    pub check: CheckFn,
}

impl VersionedCheck {
    pub const fn new(since: PssVersion, check: CheckFn) -> VersionedCheck {
        VersionedCheck {
            since,
            overrides: &[],
            check,
        }
    }

    pub const fn overriding(
        since: PssVersion,
        overrides: &'static [&'static str],
        check: CheckFn,
    ) -> VersionedCheck {
        VersionedCheck {
            since,
            overrides,
            check,
        }
    }
}

impl fmt::Debug for VersionedCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VersionedCheck")
            .field("since", &self.since)
            .field("overrides", &self.overrides)
            .finish_non_exhaustive()
    }
}

/// One Pod Security Standards check, as PSA registers it.
#[derive(Clone, Copy, Debug)]
pub struct Check {
    /// PSA's check ID, e.g. `capabilities_restricted`.
    pub id: &'static str,
    /// The control's name in the Pod Security Standards, e.g. `Capabilities`.
    pub control: &'static str,
    /// `Baseline` or `Restricted`.
    pub level: PssLevel,
    /// Implementations by strictly increasing `since`.
    pub versions: &'static [VersionedCheck],
}

impl Check {
    /// The implementation that applies at `version`, if any.
    pub fn at(&self, version: PssVersion) -> Option<&'static VersionedCheck> {
        let minor = version.resolved_minor();
        self.versions
            .iter()
            .rev()
            .find(|versioned| versioned.since.minor <= minor)
    }
}

/// Every check, in PSA's order of IDs within each level (baseline first).
pub const CHECKS: &[Check] = &[
    app_armor::CHECK,
    capabilities_baseline::CHECK,
    host_namespaces::CHECK,
    host_path_volumes::CHECK,
    host_ports::CHECK,
    host_probes::CHECK,
    privileged::CHECK,
    proc_mount::BASELINE_CHECK,
    se_linux::CHECK,
    seccomp_baseline::CHECK,
    sysctls::CHECK,
    windows_host_process::CHECK,
    allow_privilege_escalation::CHECK,
    capabilities_restricted::CHECK,
    proc_mount::RESTRICTED_CHECK,
    restricted_volumes::CHECK,
    run_as_non_root::CHECK,
    run_as_user::CHECK,
    seccomp_restricted::CHECK,
];

/// A check chosen to run, with the implementation chosen for the version.
#[derive(Clone, Copy, Debug)]
pub struct AppliedCheck {
    pub check: &'static Check,
    pub implementation: &'static VersionedCheck,
}

/// The checks that run at `level` and `version`, as PSA's registry picks
/// them (see the module documentation).
pub fn applicable_checks(level: PssLevel, version: PssVersion) -> Vec<AppliedCheck> {
    if level == PssLevel::Privileged {
        return Vec::new();
    }
    let mut applied = Vec::with_capacity(CHECKS.len());
    for check in CHECKS {
        if check.level > level {
            continue;
        }
        if let Some(implementation) = check.at(version) {
            applied.push(AppliedCheck {
                check,
                implementation,
            });
        }
    }
    if level == PssLevel::Restricted {
        let mut overridden: Vec<&str> = Vec::new();
        for restricted in &applied {
            if restricted.check.level == PssLevel::Restricted {
                overridden.extend_from_slice(restricted.implementation.overrides);
            }
        }
        applied.retain(|applied| {
            applied.check.level != PssLevel::Baseline || !overridden.contains(&applied.check.id)
        });
    }
    applied
}

/// The IDs of the checks that run at `level` and `version` (for docs and
/// messages), e.g. `["appArmorProfile", "capabilities_baseline", …]`.
pub fn applicable_check_ids(level: PssLevel, version: PssVersion) -> Vec<&'static str> {
    applicable_checks(level, version)
        .iter()
        .map(|applied| applied.check.id)
        .collect()
}

/// Checks one pod against the Pod Security Standards at `level` and
/// `version` and returns every violation, sorted. The pod carries where its
/// spec and metadata sit in the admitted object (`spec` / `metadata` for a
/// Pod, `spec.template.spec` / `spec.template.metadata` for a Deployment).
pub fn check_pod(level: PssLevel, version: PssVersion, pod: &Pod) -> Vec<Violation> {
    let mut violations = Vec::new();
    for applied in applicable_checks(level, version) {
        (applied.implementation.check)(pod, &mut violations);
    }
    sort_and_dedup(&mut violations);
    violations
}

/// How PSA names a level and version in its messages, e.g.
/// `PodSecurity "restricted:v1.37"`, for [`crate::violation::render_message`].
pub fn rules_name(level: PssLevel, version: PssVersion) -> String {
    format!("PodSecurity \"{level}:{version}\"")
}
