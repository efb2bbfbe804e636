//! The OCI provider's configuration: form fields in, checked settings out.

use std::net::IpAddr;
use std::time::Duration;

use hyok_core::{FieldSpec, ProviderConfig, ProviderError, ProviderErrorKind};
use reqwest::Url;

use crate::signer::{RequestSigner, SigningKey};

/// The configuration fields, in the order a form shows them.
pub(crate) const FIELDS: &[FieldSpec] = &[
    FieldSpec::required("tenantId"),
    FieldSpec::required("userId"),
    FieldSpec::required("fingerprint"),
    FieldSpec::required("cryptoEndpoint"),
    FieldSpec::required("mgmtEndpoint"),
    FieldSpec::required("masterKeyId"),
    FieldSpec::secret("privateKey"),
    FieldSpec::optional_secret("passphrase"),
];

/// OCI refuses API signing keys shorter than this.
const MIN_KEY_BITS: usize = 2048;

/// Time and retry bounds of every call the provider makes.
///
/// Start from [`Limits::default`] and change the fields you need. The worst
/// case of one provider call is about `max_attempts × request_timeout` plus
/// the backoff delays, each at most `max_delay`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Time allowed to open a connection (TCP and TLS). Default 5 s.
    pub connect_timeout: Duration,
    /// Time allowed for one whole request, from sending to the last byte of
    /// the answer. Default 10 s.
    pub request_timeout: Duration,
    /// Attempts per call, the first included. Default 4.
    pub max_attempts: u32,
    /// Backoff before the first retry; doubled for each further retry, with
    /// random jitter. Default 100 ms.
    pub base_delay: Duration,
    /// Upper bound of one backoff. Default 2 s.
    pub max_delay: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        }
    }
}

/// A configuration that passed every local check.
#[derive(Debug)]
pub(crate) struct OciSettings {
    pub(crate) crypto_endpoint: Url,
    pub(crate) mgmt_endpoint: Url,
    pub(crate) master_key_id: String,
    pub(crate) signer: RequestSigner,
}

impl OciSettings {
    /// Checks every field and parses the private key. No network call.
    pub(crate) fn from_config(config: &ProviderConfig) -> Result<OciSettings, ProviderError> {
        let tenancy = ocid(config, "tenantId")?;
        let user = ocid(config, "userId")?;
        let fingerprint = fingerprint(config.require("fingerprint")?)?;
        let crypto_endpoint = endpoint(config, "cryptoEndpoint")?;
        let mgmt_endpoint = endpoint(config, "mgmtEndpoint")?;
        let master_key_id = master_key_id(config.require("masterKeyId")?)?;

        let key = signing_key(config)?;
        if key.fingerprint() != fingerprint {
            return Err(invalid(format!(
                "fingerprint {fingerprint} does not match the private key, whose fingerprint is {}",
                key.fingerprint()
            )));
        }

        let key_id = format!("{tenancy}/{user}/{fingerprint}");
        let signer = RequestSigner::new(key_id, key);
        Ok(OciSettings {
            crypto_endpoint,
            mgmt_endpoint,
            master_key_id,
            signer,
        })
    }
}

fn signing_key(config: &ProviderConfig) -> Result<SigningKey, ProviderError> {
    let pem = config.require_secret("privateKey")?;
    let passphrase = config.get_secret("passphrase");
    let key = SigningKey::from_pem(pem, passphrase)
        .map_err(|err| invalid(format!("privateKey: {err}")).with_source(err))?;
    if key.bits() < MIN_KEY_BITS {
        let bits = key.bits();
        return Err(invalid(format!(
            "privateKey: an RSA key of {bits} bits is too short; OCI wants {MIN_KEY_BITS} or more"
        )));
    }
    Ok(key)
}

/// A tenancy or user OCID: `ocid1.` and no character that could break the
/// key id or a header.
fn ocid<'a>(config: &'a ProviderConfig, name: &str) -> Result<&'a str, ProviderError> {
    let value = config.require(name)?.trim();
    let clean = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-:".contains(c));
    if !value.starts_with("ocid1.") || !clean {
        return Err(invalid(format!("{name} is not an OCID (ocid1.…)")));
    }
    Ok(value)
}

/// Sixteen lower-case hex pairs separated by colons.
fn fingerprint(value: &str) -> Result<String, ProviderError> {
    let value = value.trim().to_ascii_lowercase();
    let pairs: Vec<&str> = value.split(':').collect();
    let well_formed = pairs.len() == 16
        && pairs
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()));
    if !well_formed {
        return Err(invalid(
            "fingerprint must be 16 hex pairs separated by colons",
        ));
    }
    Ok(value)
}

/// The key OCID goes into a URL path, so only OCID characters pass.
fn master_key_id(value: &str) -> Result<String, ProviderError> {
    let value = value.trim();
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err(ProviderError::new(
            ProviderErrorKind::InvalidKeyId,
            "masterKeyId is not a valid key OCID",
        ));
    }
    Ok(value.to_owned())
}

/// An `https` base URL (or `http` to a loopback host, for tests), without
/// query or fragment; a trailing `/` is dropped.
fn endpoint(config: &ProviderConfig, name: &str) -> Result<Url, ProviderError> {
    let text = config.require(name)?.trim().trim_end_matches('/');
    let url = Url::parse(text).map_err(|err| invalid(format!("{name}: {err}")))?;
    if url.query().is_some() || url.fragment().is_some() || url.host_str().is_none() {
        return Err(invalid(format!(
            "{name} must be a base URL such as https://host"
        )));
    }
    if url.scheme() != "https" && !(url.scheme() == "http" && is_loopback(&url)) {
        return Err(invalid(format!("{name} must use https")));
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name == "localhost",
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

fn invalid(message: impl Into<String>) -> ProviderError {
    ProviderError::new(ProviderErrorKind::InvalidField, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_with(name: &str, value: &str) -> ProviderConfig {
        ProviderConfig::new("oci").setting(name, value)
    }

    #[test]
    fn endpoints_must_be_https_unless_loopback() {
        let ok = [
            "https://kms.example.com/",
            "http://127.0.0.1:9000",
            "http://[::1]:1",
        ];
        for text in ok {
            assert!(endpoint(&config_with("e", text), "e").is_ok(), "{text}");
        }
        let bad = [
            "http://kms.example.com",
            "https://h/?a=b",
            "ftp://h",
            "not a url",
        ];
        for text in bad {
            let err = endpoint(&config_with("e", text), "e").unwrap_err();
            assert_eq!(err.kind(), ProviderErrorKind::InvalidField, "{text}");
        }
    }

    #[test]
    fn fingerprints_are_normalised() {
        let upper = "98:FB:C2:72:F6:C3:75:56:71:C9:44:04:CA:7F:70:4C";
        assert_eq!(fingerprint(upper).unwrap(), upper.to_ascii_lowercase());
        assert!(fingerprint("98:fb").is_err());
        assert!(fingerprint("zz:fb:c2:72:f6:c3:75:56:71:c9:44:04:ca:7f:70:4c").is_err());
    }

    #[test]
    fn key_ocid_cannot_escape_the_path() {
        assert!(master_key_id("ocid1.key.oc1.iad.abc-_.x").is_ok());
        let err = master_key_id("../vaults/x").unwrap_err();
        assert_eq!(err.kind(), ProviderErrorKind::InvalidKeyId);
    }

    #[test]
    fn ocids_are_checked() {
        assert!(
            ocid(
                &config_with("tenantId", "ocid1.tenancy.oc1..aaa"),
                "tenantId"
            )
            .is_ok()
        );
        let err = ocid(&config_with("tenantId", "tenancy/x"), "tenantId").unwrap_err();
        assert_eq!(err.to_string(), "tenantId is not an OCID (ocid1.…)");
    }
}
