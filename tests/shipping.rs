//! The files the policy ships with agree with each other: metadata.yml is
//! the source of truth; artifacthub-pkg.yml, questions-ui.yml, Cargo.toml
//! and the settings the code reads must say the same.

use serde_yaml::Value;
use std::path::Path;

fn read(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{name}: {error}"))
}

fn yaml(name: &str) -> Value {
    serde_yaml::from_str(&read(name)).unwrap_or_else(|error| panic!("{name}: {error}"))
}

fn annotation<'a>(metadata: &'a Value, key: &str) -> &'a str {
    metadata["annotations"][key]
        .as_str()
        .unwrap_or_else(|| panic!("metadata.yml has no annotation {key}"))
}

#[test]
fn artifacthub_package_agrees_with_metadata() {
    let metadata = yaml("metadata.yml");
    let package = yaml("artifacthub-pkg.yml");
    let version = annotation(&metadata, "io.kubewarden.policy.version");
    assert_eq!(package["version"].as_str(), Some(version));
    assert_eq!(
        package["name"].as_str(),
        Some(annotation(&metadata, "io.kubewarden.policy.title"))
    );
    assert_eq!(
        package["displayName"].as_str(),
        Some(annotation(&metadata, "io.artifacthub.displayName"))
    );
    assert_eq!(
        package["description"].as_str(),
        Some(annotation(&metadata, "io.kubewarden.policy.description"))
    );
    assert_eq!(
        package["license"].as_str(),
        Some(annotation(&metadata, "io.kubewarden.policy.license"))
    );
    assert_eq!(
        package["homeURL"].as_str(),
        Some(annotation(&metadata, "io.kubewarden.policy.url"))
    );
    let image = format!(
        "{}:v{version}",
        annotation(&metadata, "io.kubewarden.policy.ociUrl")
    );
    assert_eq!(
        package["containersImages"][0]["image"].as_str(),
        Some(image.as_str())
    );
    let keywords: Vec<&str> = annotation(&metadata, "io.artifacthub.keywords")
        .split(',')
        .map(str::trim)
        .collect();
    let package_keywords: Vec<&str> = package["keywords"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(package_keywords, keywords);

    let annotations = &package["annotations"];
    assert_eq!(
        annotations["kubewarden/mutation"].as_str(),
        Some(if metadata["mutating"].as_bool().unwrap() {
            "true"
        } else {
            "false"
        })
    );
    assert_eq!(
        annotations["kubewarden/resources"].as_str(),
        Some(annotation(&metadata, "io.artifacthub.resources"))
    );
    let rules: Value =
        serde_yaml::from_str(annotations["kubewarden/rules"].as_str().unwrap()).unwrap();
    assert_eq!(rules, metadata["rules"]);
    assert_eq!(
        annotations["kubewarden/questions-ui"].as_str(),
        Some(read("questions-ui.yml").as_str()),
        "artifacthub-pkg.yml must carry questions-ui.yml verbatim"
    );
}

#[test]
fn the_crate_version_is_the_policy_version() {
    let metadata = yaml("metadata.yml");
    assert_eq!(
        env!("CARGO_PKG_VERSION"),
        annotation(&metadata, "io.kubewarden.policy.version")
    );
    let tag = annotation(&metadata, "com.github.release.tag");
    assert_eq!(tag, format!("v{}", env!("CARGO_PKG_VERSION")));
}

/// The audit scanner re-evaluates existing objects only with policies that
/// opt in; the policy judges them as they run, which the README explains.
#[test]
fn metadata_opts_into_background_audit_and_the_readme_explains_it() {
    let metadata = yaml("metadata.yml");
    assert_eq!(metadata["backgroundAudit"].as_bool(), Some(true));
    let readme = read("README.md");
    assert!(readme.contains("\n## Background audit\n"));
    assert!(readme.contains("empty `userInfo.username`"));
}

#[test]
fn metadata_is_mutating_and_covers_every_carrier() {
    let metadata = yaml("metadata.yml");
    assert_eq!(metadata["mutating"].as_bool(), Some(true));
    let title = annotation(&metadata, "io.kubewarden.policy.title");
    assert!(
        title
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
        "the title becomes a resource name and must be RFC 1123"
    );
    let mut covered: Vec<(String, String)> = Vec::new();
    for rule in metadata["rules"].as_sequence().unwrap() {
        for group in rule["apiGroups"].as_sequence().unwrap() {
            for resource in rule["resources"].as_sequence().unwrap() {
                covered.push((
                    group.as_str().unwrap().to_string(),
                    resource.as_str().unwrap().to_string(),
                ));
            }
        }
    }
    for carrier in secure_pod_defaults::carriers::CARRIERS {
        let resource = format!("{}s", carrier.kind.to_lowercase());
        assert!(
            covered.contains(&(carrier.group.to_string(), resource.clone())),
            "metadata.yml has no rule for {}/{resource}",
            carrier.group
        );
    }
    assert!(covered.contains(&(String::new(), "pods/ephemeralcontainers".to_string())));
}

#[test]
fn questions_ui_offers_every_setting() {
    let questions = yaml("questions-ui.yml");
    let variables: Vec<&str> = questions["questions"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|question| question["variable"].as_str())
        .collect();
    assert_eq!(variables, secure_pod_defaults::settings::KEYS);
}

#[test]
fn the_readme_documents_every_setting() {
    let readme = read("README.md");
    for key in secure_pod_defaults::settings::KEYS {
        assert!(
            readme.contains(&format!("`{key}`")),
            "README.md does not document {key}"
        );
    }
}

/// With namespace_labels the policy reads Namespaces: metadata.yml declares
/// it (kwctl scaffold manifest copies the list into the
/// ClusterAdmissionPolicy), artifacthub-pkg.yml says so, and the README
/// shows the policy that grants it.
#[test]
fn metadata_declares_the_namespace_lookup_and_the_readme_shows_it() {
    let metadata = yaml("metadata.yml");
    let namespace: Value =
        serde_yaml::from_str("[{apiVersion: v1, kind: Namespace}]").expect("YAML");
    assert_eq!(metadata["contextAwareResources"], namespace);
    assert!(host_capabilities(&metadata).contains(&"kubernetes/get_resource"));
    let package = yaml("artifacthub-pkg.yml");
    let declared: Value = serde_yaml::from_str(
        package["annotations"]["kubewarden/contextAwareResources"]
            .as_str()
            .expect("artifacthub-pkg.yml names the contextAwareResources"),
    )
    .expect("YAML");
    assert_eq!(declared, namespace);
    let readme = read("README.md");
    assert!(readme.contains("\n## Per namespace: Pod Security Admission's labels\n"));
    assert!(
        readme.contains("  contextAwareResources:\n    - apiVersion: v1\n      kind: Namespace\n")
    );
    for label in [
        secure_pod_defaults::namespace::ENFORCE_LABEL,
        secure_pod_defaults::namespace::WARN_LABEL,
        secure_pod_defaults::namespace::AUDIT_LABEL,
        secure_pod_defaults::namespace::DEFAULTS_LABEL,
    ] {
        assert!(
            readme.contains(&format!("`{label}`")),
            "README.md does not explain {label}"
        );
    }
}

/// The host capability `run_as_non_root_from_image` calls is declared, and
/// the README says what it is for.
#[test]
fn metadata_declares_the_image_lookup() {
    let metadata = yaml("metadata.yml");
    assert!(host_capabilities(&metadata).contains(&"oci/v1/oci_manifest_config"));
    let readme = read("README.md");
    assert!(readme.contains("`oci`/`v1/oci_manifest_config`"));
    assert!(readme.contains("\n### Images that run as root\n"));
}

/// The host capabilities the module calls, and no other: kwctl annotate
/// compares the list with the module, and a policy is granted what it lists.
#[test]
fn metadata_declares_exactly_the_host_capabilities_the_policy_calls() {
    assert_eq!(
        host_capabilities(&yaml("metadata.yml")),
        ["kubernetes/get_resource", "oci/v1/oci_manifest_config"]
    );
}

fn host_capabilities(metadata: &Value) -> Vec<&str> {
    metadata["hostCapabilities"]
        .as_sequence()
        .expect("metadata.yml lists hostCapabilities")
        .iter()
        .filter_map(Value::as_str)
        .collect()
}
