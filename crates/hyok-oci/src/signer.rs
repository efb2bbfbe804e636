//! OCI API request signing.
//!
//! Implements the request-signing scheme of the OCI documentation, "Request
//! Signatures" (<https://docs.oracle.com/iaas/Content/API/Concepts/signingrequests.htm>):
//! draft-cavage HTTP signatures, version `1`, algorithm `rsa-sha256`, with the
//! key id `tenancy-ocid/user-ocid/fingerprint`.
//!
//! - `GET`, `HEAD` and `DELETE` sign `date (request-target) host`.
//! - `POST`, `PUT` and `PATCH` also sign `content-length content-type
//!   x-content-sha256`, where the length counts bytes and the hash is the
//!   base64 SHA-256 of the body. An empty body signs `0` and the hash of `""`.
//! - `(request-target)` is the lower-case method, a space, the path and, when
//!   there is one, `?` and the query exactly as sent.
//! - `host` keeps a port that is not the scheme's default.
//!
//! The signing string is the signed headers as `name: value` lines joined by
//! `\n`, in the order of the `headers` parameter; the signature is RSASSA
//! PKCS#1 v1.5 with SHA-256 over it, which is deterministic, so the output
//! equals the official SDKs' byte for byte.
//!
//! ```
//! use hyok_oci::signer::{RequestSigner, SigningKey};
//! use reqwest::{Method, Url, header::HeaderMap};
//! use secrecy::SecretString;
//!
//! # let pem = include_str!("../tests/data/oci-signing/test_key_2048_pkcs8.pem");
//! let key = SigningKey::from_pem(&SecretString::from(pem), None)?;
//! let signer = RequestSigner::new("ocid1.tenancy.oc1..t/ocid1.user.oc1..u/aa:bb", key);
//!
//! let url = Url::parse("https://kms.example.com/20180608/keys/ocid1.key.oc1..k")?;
//! let signed = signer.sign(&Method::GET, &url, &HeaderMap::new(), b"")?;
//! assert!(signed.headers()["authorization"].to_str()?.starts_with("Signature "));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use md5::Md5;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15;
use rsa::pkcs8::der::pem;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Headers signed on every request, in signing order.
pub const GET_HEADERS: &[&str] = &["date", "(request-target)", "host"];

/// Headers signed on requests with a body (`POST`, `PUT`, `PATCH`), in signing order.
pub const BODY_HEADERS: &[&str] = &[
    "date",
    "(request-target)",
    "host",
    "content-length",
    "content-type",
    "x-content-sha256",
];

/// Content type signed when the caller sets none, as the OCI SDKs do.
const DEFAULT_CONTENT_TYPE: &str = "application/json";

/// The RSA private half of an OCI API signing key.
///
/// Parsed from the PEM the OCI console hands out (PKCS#8, optionally
/// encrypted) or from an OpenSSL-style PKCS#1 PEM. The key is wiped when the
/// value drops; `Debug` shows only its size.
pub struct SigningKey {
    key: pkcs1v15::SigningKey<Sha256>,
}

impl SigningKey {
    /// Parses a PEM private key, decrypting it with `passphrase` when it is an
    /// encrypted PKCS#8 key.
    ///
    /// Accepts the labels `PRIVATE KEY`, `RSA PRIVATE KEY` and `ENCRYPTED
    /// PRIVATE KEY`. Text after the PEM's end line (the OCI console appends an
    /// `OCI_API_KEY` marker) is ignored.
    pub fn from_pem(
        pem: &SecretString,
        passphrase: Option<&SecretString>,
    ) -> Result<SigningKey, KeyError> {
        let text = pem_block(pem.expose_secret())?;
        let label = pem::decode_label(text.as_bytes()).map_err(|_| KeyError::NotPem)?;

        let key = match (label, passphrase) {
            ("PRIVATE KEY", _) => {
                rsa::PrivateKey::from_pkcs8_pem(&text).map_err(|_| KeyError::Malformed)?
            }
            ("RSA PRIVATE KEY", _) => {
                rsa::PrivateKey::from_pkcs1_pem(&text).map_err(|_| KeyError::Malformed)?
            }
            ("ENCRYPTED PRIVATE KEY", None) => return Err(KeyError::PassphraseRequired),
            ("ENCRYPTED PRIVATE KEY", Some(phrase)) => {
                let phrase = phrase.expose_secret().as_bytes();
                rsa::PrivateKey::from_pkcs8_encrypted_pem(&text, phrase)
                    .map_err(|_| KeyError::Decrypt)?
            }
            (other, _) => return Err(KeyError::WrongLabel(other.to_owned())),
        };

        Ok(SigningKey {
            key: pkcs1v15::SigningKey::new(key),
        })
    }

    /// Size of the RSA modulus in bits.
    pub fn bits(&self) -> usize {
        self.public().size() * 8
    }

    /// The public key as a `PUBLIC KEY` (SubjectPublicKeyInfo) PEM: what is
    /// uploaded to OCI as the API key.
    pub fn public_key_pem(&self) -> String {
        self.public()
            .to_public_key_pem(LineEnding::LF)
            .expect("an RSA public key always encodes")
    }

    /// The key's OCI fingerprint: the MD5 of the DER public key, as
    /// colon-separated lower-case hex pairs.
    pub fn fingerprint(&self) -> String {
        let der = self
            .public()
            .to_public_key_der()
            .expect("an RSA public key always encodes");
        let digest = Md5::digest(der.as_bytes());
        let pairs: Vec<String> = digest.iter().map(|b| format!("{b:02x}")).collect();
        pairs.join(":")
    }

    fn public(&self) -> &rsa::PublicKey {
        self.key.as_ref().as_public_key()
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.key.sign(message).to_vec()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(RSA {} bits, [REDACTED])", self.bits())
    }
}

/// Signs HTTP requests for the OCI API with one key id and one key.
pub struct RequestSigner {
    key_id: String,
    key: SigningKey,
}

impl RequestSigner {
    /// A signer for `key_id` (`tenancy-ocid/user-ocid/fingerprint`).
    pub fn new(key_id: impl Into<String>, key: SigningKey) -> RequestSigner {
        RequestSigner {
            key_id: key_id.into(),
            key,
        }
    }

    /// The key id this signer puts in every `Authorization` header.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The signing key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// Signs a request and returns the headers to add to it.
    ///
    /// `headers` are the request's own headers: a `date` or `content-type`
    /// there is signed as it is; when absent, the current time and
    /// `application/json` are used and returned. The returned map always
    /// holds `date`, `host`, `authorization` and, for methods with a body,
    /// `content-type`, `content-length` and `x-content-sha256`. `body` must
    /// be the exact bytes sent (empty for none).
    pub fn sign(
        &self,
        method: &Method,
        url: &Url,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<SignedRequest, SignError> {
        let mut out = HeaderMap::new();
        let date = header_or(headers, "date", || {
            httpdate::fmt_http_date(SystemTime::now())
        })?;
        out.insert("date", date);
        out.insert("host", value(&host_of(url)?)?);

        let names = signed_headers(method);
        if has_body(method) {
            let content_type = header_or(headers, "content-type", || DEFAULT_CONTENT_TYPE.into())?;
            out.insert("content-length", HeaderValue::from(body.len()));
            out.insert("content-type", content_type);
            out.insert("x-content-sha256", value(&content_sha256(body))?);
        }

        let target = request_target(method, url);
        let signing_string = signing_string(names, |name| match name {
            "(request-target)" => Some(target.clone()),
            _ => out
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        })
        .ok_or(SignError::Header)?;

        let signature = BASE64.encode(self.key.sign(signing_string.as_bytes()));
        let authorization = authorization(names, &self.key_id, &signature);
        out.insert(AUTHORIZATION, value(&authorization)?);

        Ok(SignedRequest {
            headers: out,
            signing_string,
            signature,
        })
    }
}

impl fmt::Debug for RequestSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestSigner")
            .field("key_id", &self.key_id)
            .field("key", &self.key)
            .finish()
    }
}

/// The outcome of [`RequestSigner::sign`].
#[derive(Debug, Clone)]
pub struct SignedRequest {
    headers: HeaderMap,
    signing_string: String,
    signature: String,
}

impl SignedRequest {
    /// Headers to set on the request, `authorization` among them.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// Takes the headers out.
    pub fn into_headers(self) -> HeaderMap {
        self.headers
    }

    /// The exact string that was signed.
    pub fn signing_string(&self) -> &str {
        &self.signing_string
    }

    /// The base64 signature.
    pub fn signature(&self) -> &str {
        &self.signature
    }
}

/// Why a PEM private key was refused. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The text holds no PEM block.
    #[error("the private key is not PEM text")]
    NotPem,
    /// A PEM block of another kind, such as a public key or a certificate.
    #[error("the PEM holds a {0:?}, not a private key")]
    WrongLabel(String),
    /// The key is encrypted and no passphrase was given.
    #[error("the private key is encrypted; a passphrase is required")]
    PassphraseRequired,
    /// The passphrase does not decrypt the key, or the encryption scheme is
    /// not supported.
    #[error("the private key could not be decrypted with the passphrase")]
    Decrypt,
    /// The PEM does not hold a usable RSA private key.
    #[error("the private key is not a valid RSA private key")]
    Malformed,
}

/// A request that cannot be signed: the URL has no host, or a header value
/// is not valid header text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The URL has no host to sign.
    #[error("the request URL has no host")]
    NoHost,
    /// A header to sign is not visible ASCII.
    #[error("a header to sign is not valid header text")]
    Header,
}

/// Parses the parameters of a `Signature ...` `Authorization` header.
///
/// Returns `None` unless the value starts with `Signature ` and every
/// parameter is `name="value"`. Values never contain commas or quotes in
/// this scheme.
pub fn parse_authorization(header: &str) -> Option<BTreeMap<String, String>> {
    let params = header.strip_prefix("Signature ")?;
    params
        .split(',')
        .map(|pair| {
            let (name, quoted) = pair.trim().split_once('=')?;
            let value = quoted.strip_prefix('"')?.strip_suffix('"')?;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect()
}

/// `(request-target)`: lower-case method, path and raw query.
pub(crate) fn request_target(method: &Method, url: &Url) -> String {
    let method = method.as_str().to_ascii_lowercase();
    match url.query() {
        Some(query) => format!("{method} {}?{query}", url.path()),
        None => format!("{method} {}", url.path()),
    }
}

/// The signing string: `name: value` lines in the order of `names`, joined
/// by `\n`. `None` when a value is missing.
pub(crate) fn signing_string(
    names: &[&str],
    value_of: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    let lines: Option<Vec<String>> = names
        .iter()
        .map(|name| Some(format!("{name}: {}", value_of(name)?)))
        .collect();
    Some(lines?.join("\n"))
}

/// Base64 SHA-256 of a body, the value of `x-content-sha256`.
pub(crate) fn content_sha256(body: &[u8]) -> String {
    BASE64.encode(Sha256::digest(body))
}

/// The headers OCI requires signed for `method`, in signing order.
pub(crate) fn signed_headers(method: &Method) -> &'static [&'static str] {
    if has_body(method) {
        BODY_HEADERS
    } else {
        GET_HEADERS
    }
}

fn has_body(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH)
}

fn host_of(url: &Url) -> Result<String, SignError> {
    let host = url.host_str().ok_or(SignError::NoHost)?;
    Ok(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

fn header_or(
    headers: &HeaderMap,
    name: &str,
    default: impl FnOnce() -> String,
) -> Result<HeaderValue, SignError> {
    match headers.get(HeaderName::from_bytes(name.as_bytes()).map_err(|_| SignError::Header)?) {
        Some(present) => Ok(present.clone()),
        None => value(&default()),
    }
}

fn value(text: &str) -> Result<HeaderValue, SignError> {
    HeaderValue::from_str(text).map_err(|_| SignError::Header)
}

fn authorization(names: &[&str], key_id: &str, signature: &str) -> String {
    format!(
        "Signature algorithm=\"rsa-sha256\",headers=\"{}\",keyId=\"{key_id}\",\
         signature=\"{signature}\",version=\"1\"",
        names.join(" ")
    )
}

/// The first PEM block of `text`, from its `-----BEGIN` line to the end of
/// its `-----END ...-----` line, in a buffer wiped on drop.
fn pem_block(text: &str) -> Result<Zeroizing<String>, KeyError> {
    let start = text.find("-----BEGIN ").ok_or(KeyError::NotPem)?;
    let end_line = text[start..].find("-----END ").ok_or(KeyError::NotPem)? + start;
    let close = text[end_line + 9..].find("-----").ok_or(KeyError::NotPem)? + end_line + 9 + 5;
    Ok(Zeroizing::new(format!("{}\n", &text[start..close])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_target_keeps_raw_query() {
        let url = Url::parse("https://h.example/20180608/keys?a=b%20c&d=%3A").unwrap();
        assert_eq!(
            request_target(&Method::GET, &url),
            "get /20180608/keys?a=b%20c&d=%3A"
        );
    }

    #[test]
    fn host_keeps_non_default_port_only() {
        assert_eq!(
            host_of(&Url::parse("https://h:8443/x").unwrap()).unwrap(),
            "h:8443"
        );
        assert_eq!(
            host_of(&Url::parse("https://h:443/x").unwrap()).unwrap(),
            "h"
        );
        assert_eq!(
            host_of(&Url::parse("http://127.0.0.1:9/").unwrap()).unwrap(),
            "127.0.0.1:9"
        );
    }

    #[test]
    fn empty_body_hash() {
        assert_eq!(
            content_sha256(b""),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn authorization_parses() {
        let params = parse_authorization(&authorization(GET_HEADERS, "t/u/f", "c2ln")).unwrap();
        assert_eq!(params["headers"], "date (request-target) host");
        assert_eq!(params["keyId"], "t/u/f");
        assert_eq!(params["signature"], "c2ln");
        assert_eq!(params.len(), 5);
        assert!(parse_authorization("Basic abc").is_none());
    }

    #[test]
    fn pem_block_drops_trailing_marker() {
        let text =
            "junk\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\nOCI_API_KEY\n";
        let block = pem_block(text).unwrap();
        assert_eq!(
            block.as_str(),
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        );
    }

    #[test]
    fn not_pem_is_refused() {
        let err = SigningKey::from_pem(&SecretString::from("hello"), None).unwrap_err();
        assert_eq!(err, KeyError::NotPem);
    }
}

#[cfg(test)]
mod wycheproof {
    use serde_json::Value;

    use super::*;

    const VECTORS: &str = include_str!("../tests/data/wycheproof/rsa_pkcs1_2048_sig_gen_test.json");

    /// Every SHA-256 case of Wycheproof's PKCS#1 v1.5 signature-generation
    /// vectors: a "valid" case must sign to the expected bytes; an
    /// "acceptable" one (a small public exponent) may instead have its key
    /// refused, which the `rsa` crate does.
    #[test]
    fn sha256_signatures_match() {
        let vectors: Value = serde_json::from_str(VECTORS).unwrap();
        let groups = vectors["testGroups"].as_array().unwrap();
        let mut signed = 0;
        for group in groups.iter().filter(|g| g["sha"] == "SHA-256") {
            let pem = SecretString::from(group["privateKeyPem"].as_str().unwrap());
            let cases = group["tests"].as_array().unwrap();
            let key = match SigningKey::from_pem(&pem, None) {
                Ok(key) => key,
                Err(_) => {
                    assert!(
                        cases.iter().all(|c| c["result"] == "acceptable"),
                        "key refused"
                    );
                    continue;
                }
            };
            for case in cases {
                let msg = hex(case["msg"].as_str().unwrap());
                let sig = hex(case["sig"].as_str().unwrap());
                assert_eq!(key.sign(&msg), sig, "tcId {}", case["tcId"]);
                signed += 1;
            }
        }
        assert!(signed >= 8, "only {signed} cases signed");
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }
}
