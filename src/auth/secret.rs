//! Fetching the signing secret: from an environment variable, or from a Kubernetes Secret
//! through the user's kubeconfig. Every failure says what went wrong and what to do; none
//! repeats the secret (a Secret's keys are named, never its values).

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;

use super::KubeAccess;
use crate::kubeconfig;
use crate::profile::{EnvVar, SecretRef};
use crate::trouble::Trouble;

/// How long reading the Secret may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(20);

/// The value of `var`, which must be set and not empty.
pub(super) fn from_env(var: &EnvVar) -> Result<Vec<u8>, Trouble> {
    match std::env::var_os(var.as_str()) {
        Some(value) if !value.is_empty() => Ok(value.into_encoded_bytes()),
        _ => Err(Trouble::new(
            format!("environment variable {var} is not set"),
            format!(
                "export {var}=… (the gateway's jwt-secret-key), or use a kubernetes secret source"
            ),
        )),
    }
}

/// The value of `reference.key` in the Secret, read in `context` (else the current one).
pub(super) async fn from_kubernetes(
    reference: &SecretRef,
    kube: &KubeAccess,
    context: Option<&str>,
) -> Result<Vec<u8>, Trouble> {
    let client = async {
        let loaded = kubeconfig::load(kube.kubeconfig.as_deref())?;
        loaded.client(context).await
    };
    let client = client.await.map_err(|err| {
        Trouble::new(
            format!("cannot read secret {}: {err}", display(reference)),
            format!("{}; or {}", err.fix(), use_env_instead(reference)),
        )
    })?;
    let api = Api::<Secret>::namespaced(client, reference.namespace.as_str());
    // Callers wait on this mint: a hung API server must not hold them for kube's minutes.
    let secret = match tokio::time::timeout(FETCH_TIMEOUT, api.get(reference.name.as_str())).await {
        Ok(got) => got.map_err(|err| explain(&err, reference))?,
        Err(_) => {
            return Err(Trouble::new(
                format!(
                    "the API server did not answer within {} s reading secret {}",
                    FETCH_TIMEOUT.as_secs(),
                    display(reference)
                ),
                format!(
                    "check that the cluster is reachable (`kubectl -n {} get secrets`), or {}",
                    reference.namespace,
                    use_env_instead(reference)
                ),
            ));
        }
    };
    value_of(&secret, reference)
}

/// `reference.key` of `secret`: from `data` (already base64-decoded), else `stringData`.
pub(super) fn value_of(secret: &Secret, reference: &SecretRef) -> Result<Vec<u8>, Trouble> {
    let key = reference.key.as_str();
    let value =
        secret.data.as_ref().and_then(|data| data.get(key)).map(|bytes| bytes.0.clone()).or_else(
            || {
                let strings = secret.string_data.as_ref()?;
                strings.get(key).map(|s| s.clone().into_bytes())
            },
        );
    match value {
        Some(value) if !value.is_empty() => Ok(value),
        Some(_) => Err(Trouble::new(
            format!("key {key:?} of secret {} is empty", display(reference)),
            "put the gateway's JWT signing secret in it, or point the profile at the key that \
             holds it"
                .to_owned(),
        )),
        None => {
            let mut keys: Vec<&str> =
                secret.data.iter().flat_map(|d| d.keys()).map(String::as_str).collect();
            keys.extend(secret.string_data.iter().flat_map(|d| d.keys()).map(String::as_str));
            keys.sort_unstable();
            keys.dedup();
            let present = match keys.as_slice() {
                [] => "it has no keys".to_owned(),
                keys => format!("its keys: {}", keys.join(", ")),
            };
            Err(Trouble::new(
                format!("secret {} has no key {key:?} ({present})", display(reference)),
                match keys.as_slice() {
                    [] => "check that this is the gateway's secret (`kubectl -n NS get secrets`)"
                        .replace("NS", reference.namespace.as_str()),
                    keys => format!(
                        "set the profile's auth.jwt.secret.kubernetes.key to one of: {}",
                        keys.join(", ")
                    ),
                },
            ))
        }
    }
}

/// A failed `get` of the Secret, in the user's words.
pub(super) fn explain(err: &kube::Error, reference: &SecretRef) -> Trouble {
    let (ns, secret) = (reference.namespace.as_str(), display(reference));
    match err {
        kube::Error::Api(status) if status.code == 403 => Trouble::new(
            format!("your kubeconfig user may not read secret {secret} ({})", status.message),
            format!(
                "ask for `get` on secrets in {ns} (check with `kubectl auth can-i get secrets -n \
                 {ns}`), or export the secret: {}",
                export_command(reference)
            ),
        ),
        kube::Error::Api(status) if status.code == 401 => Trouble::new(
            format!(
                "the cluster rejected the kubeconfig's credentials (401) while reading secret \
                 {secret}"
            ),
            format!(
                "refresh them (log in again, or regenerate the kubeconfig), or {}",
                use_env_instead(reference)
            ),
        ),
        kube::Error::Api(status) if status.code == 404 => Trouble::new(
            format!("secret {secret} not found"),
            format!(
                "check the profile's auth.jwt.secret (namespace and name; `kubectl -n {ns} get \
                 secrets`) and the kubeconfig context, or {}",
                use_env_instead(reference)
            ),
        ),
        kube::Error::Api(status) => Trouble::new(
            format!(
                "the API server answered {} reading secret {secret}: {}",
                status.code, status.message
            ),
            "try again; if it persists, check the API server's health".to_owned(),
        ),
        other => Trouble::new(
            format!("cannot reach the API server to read secret {secret}: {other}"),
            format!(
                "check that the cluster is reachable (`kubectl -n {ns} get secrets`), or {}",
                use_env_instead(reference)
            ),
        ),
    }
}

fn display(reference: &SecretRef) -> String {
    format!("{}/{}", reference.namespace, reference.name)
}

/// The shell command that puts the secret in `JWT_SECRET_KEY`, and what to write then.
fn export_command(reference: &SecretRef) -> String {
    // jsonpath needs the dots in a key escaped.
    let key = reference.key.as_str().replace('.', "\\.");
    format!(
        "export JWT_SECRET_KEY=\"$(kubectl -n {} get secret {} -o jsonpath='{{.data.{key}}}' | \
         base64 -d)\", and use secret: {{env: JWT_SECRET_KEY}}",
        reference.namespace, reference.name
    )
}

fn use_env_instead(reference: &SecretRef) -> String {
    format!("export the secret yourself: {}", export_command(reference))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::ByteString;

    use super::*;

    fn reference() -> SecretRef {
        serde_yaml::from_str(
            "{namespace: mcp, name: mcp-gateway-mcp-bridge-secrets, key: jwt-secret-key}",
        )
        .unwrap()
    }

    fn secret(data: &[(&str, &str)], string_data: &[(&str, &str)]) -> Secret {
        let mut secret = Secret::default();
        if !data.is_empty() {
            secret.data = Some(
                data.iter()
                    .map(|(k, v)| ((*k).into(), ByteString(v.as_bytes().to_vec())))
                    .collect(),
            );
        }
        if !string_data.is_empty() {
            secret.string_data = Some(
                string_data
                    .iter()
                    .map(|(k, v)| ((*k).into(), (*v).into()))
                    .collect::<BTreeMap<_, _>>(),
            );
        }
        secret
    }

    #[test]
    fn the_key_is_read_from_data_then_string_data() {
        let r = reference();
        let s = secret(&[("jwt-secret-key", "from-data")], &[("jwt-secret-key", "from-string")]);
        assert_eq!(value_of(&s, &r).unwrap(), b"from-data");
        let s = secret(&[], &[("jwt-secret-key", "from-string")]);
        assert_eq!(value_of(&s, &r).unwrap(), b"from-string");
    }

    #[test]
    fn a_missing_key_names_the_keys_there_are_but_no_values() {
        let s = secret(&[("redis-password", "hunter2"), ("api-key", "abc123")], &[]);
        let err = value_of(&s, &reference()).unwrap_err();
        assert_eq!(
            err.cause,
            "secret mcp/mcp-gateway-mcp-bridge-secrets has no key \"jwt-secret-key\" (its keys: \
             api-key, redis-password)"
        );
        assert!(err.fix.contains("api-key, redis-password"), "{}", err.fix);
        let text = format!("{err:?}");
        assert!(!text.contains("hunter2") && !text.contains("abc123"), "{text}");

        let empty = value_of(&secret(&[("jwt-secret-key", "")], &[]), &reference()).unwrap_err();
        assert!(empty.cause.contains("is empty"), "{}", empty.cause);
    }

    #[test]
    fn forbidden_names_the_permission_and_the_way_around_it() {
        let status =
            kube::core::Status::failure("secrets is forbidden", "Forbidden").with_code(403);
        let err = explain(&kube::Error::Api(status.boxed()), &reference());
        assert!(
            err.cause.starts_with(
                "your kubeconfig user may not read secret mcp/mcp-gateway-mcp-bridge-secrets"
            ),
            "{}",
            err.cause
        );
        assert!(err.fix.starts_with("ask for `get` on secrets in mcp"), "{}", err.fix);
        assert!(
            err.fix.contains(
                "kubectl -n mcp get secret mcp-gateway-mcp-bridge-secrets -o \
                 jsonpath='{.data.jwt-secret-key}' | base64 -d"
            ),
            "{}",
            err.fix
        );
        assert!(err.fix.ends_with("use secret: {env: JWT_SECRET_KEY}"), "{}", err.fix);
    }

    #[test]
    fn not_found_says_so() {
        let status = kube::core::Status::failure("not found", "NotFound").with_code(404);
        let err = explain(&kube::Error::Api(status.boxed()), &reference());
        assert_eq!(err.cause, "secret mcp/mcp-gateway-mcp-bridge-secrets not found");
        assert!(err.fix.contains("kubectl -n mcp get secrets"), "{}", err.fix);
    }

    #[test]
    fn a_missing_environment_variable_says_what_to_export() {
        let var = EnvVar::try_from("MCP_CONNECT_UNIT_TEST_NEVER_SET").unwrap();
        let err = from_env(&var).unwrap_err();
        assert_eq!(err.cause, "environment variable MCP_CONNECT_UNIT_TEST_NEVER_SET is not set");
        assert_eq!(
            err.fix,
            "export MCP_CONNECT_UNIT_TEST_NEVER_SET=… (the gateway's jwt-secret-key), or use a \
             kubernetes secret source"
        );
    }
}
