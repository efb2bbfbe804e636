//! AR-JWT sessions: the admin login, tokens signed with HS256, logout by
//! revoking the token's id.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// File in the data directory that holds the token signing key.
pub const SIGNING_KEY_FILE: &str = "http-signing.key";
/// File in the data directory that holds the generated admin password's hash.
pub const PASSWORD_HASH_FILE: &str = "http-admin.argon2";
/// How long a token is valid.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(3600);

const SIGNING_KEY_LEN: usize = 32;

/// Checks the admin's credentials, issues tokens and verifies them.
pub struct Authenticator {
    user: String,
    password_hash: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
    revoked: Mutex<HashMap<String, u64>>,
}

/// The admin password generated on first start: shown once, stored only as
/// a hash.
pub struct GeneratedPassword(SecretString);

/// The claims of a session token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user name.
    pub sub: String,
    /// Issued at, seconds since the Unix epoch.
    pub iat: u64,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Token id, revoked on logout.
    pub jti: String,
}

/// Why the authenticator could not be set up.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthSetupError {
    /// A file in the data directory could not be read or written.
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A file in the data directory is not what it should be.
    Invalid {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
    /// The admin password given is empty.
    EmptyPassword,
    /// Hashing the password failed.
    Hash,
}

impl Authenticator {
    /// An authenticator for `user` with `password`, whose signing key lives
    /// only in memory: tokens die with the process. For applications that
    /// mount the router, and for tests.
    pub fn in_memory(user: &str, password: &SecretString) -> Result<Authenticator, AuthSetupError> {
        let hash = hash_password(password)?;
        Ok(Self::assemble(user, hash, &SigningKey::generate()))
    }

    /// The authenticator of `hyok serve`: the signing key in `data_dir`
    /// (made on first start, mode 0600), and the admin password from
    /// `password`, or else the hash stored in `data_dir`, or else a new
    /// password, returned so the caller can show it once.
    pub fn open(
        data_dir: &Path,
        user: &str,
        password: Option<&SecretString>,
    ) -> Result<(Authenticator, Option<GeneratedPassword>), AuthSetupError> {
        let key = SigningKey::load_or_create(&data_dir.join(SIGNING_KEY_FILE))?;
        let hash_path = data_dir.join(PASSWORD_HASH_FILE);

        let (hash, generated) = match password {
            Some(password) => (hash_password(password)?, None),
            None => match read_private(&hash_path)? {
                Some(stored) => (parse_hash_file(&hash_path, &stored)?, None),
                None => {
                    let password = GeneratedPassword::new();
                    let hash = hash_password(&password.0)?;
                    write_private(&hash_path, hash.as_bytes())?;
                    (hash, Some(password))
                }
            },
        };

        Ok((Self::assemble(user, hash, &key), generated))
    }

    /// Sets how long new tokens are valid.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Checks a user name and password. Slow on purpose (argon2): call it
    /// off the async executor.
    pub fn check_password(&self, user: &str, password: &SecretString) -> bool {
        let Ok(hash) = PasswordHash::new(&self.password_hash) else {
            return false;
        };
        let password_ok = Argon2::default()
            .verify_password(password.expose_secret().as_bytes(), &hash)
            .is_ok();
        password_ok && user == self.user
    }

    /// Issues a token for the admin.
    pub fn issue(&self) -> String {
        let iat = now();
        let claims = Claims {
            sub: self.user.clone(),
            iat,
            exp: iat + self.ttl.as_secs(),
            jti: random_token(16),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing of plain claims cannot fail")
    }

    /// Verifies a token: signature, expiry, subject, and not logged out.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .ok()?
            .claims;

        let revoked = self.revoked.lock().unwrap_or_else(|e| e.into_inner());
        if claims.sub != self.user || revoked.contains_key(&claims.jti) {
            return None;
        }
        Some(claims)
    }

    /// Revokes a token until it would have expired anyway.
    pub fn revoke(&self, claims: &Claims) {
        let now = now();
        let mut revoked = self.revoked.lock().unwrap_or_else(|e| e.into_inner());
        revoked.retain(|_, exp| *exp + 60 > now);
        revoked.insert(claims.jti.clone(), claims.exp);
    }

    fn assemble(user: &str, password_hash: String, key: &SigningKey) -> Authenticator {
        Authenticator {
            user: user.to_owned(),
            password_hash,
            encoding: EncodingKey::from_secret(key.expose_secret()),
            decoding: DecodingKey::from_secret(key.expose_secret()),
            ttl: DEFAULT_TOKEN_TTL,
            revoked: Mutex::new(HashMap::new()),
        }
    }
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("user", &self.user)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl GeneratedPassword {
    /// 20 random bytes in hex: easy to paste into a shell or a form.
    fn new() -> GeneratedPassword {
        let mut bytes = Zeroizing::new([0u8; 20]);
        getrandom::fill(bytes.as_mut()).expect("the OS random source is available");
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        GeneratedPassword(SecretString::from(hex))
    }

    /// The password, to show once to the operator.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for GeneratedPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GeneratedPassword([REDACTED])")
    }
}

impl fmt::Display for AuthSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, .. } => write!(f, "cannot access {}", path.display()),
            Self::Invalid { path, reason } => write!(f, "{}: {reason}", path.display()),
            Self::EmptyPassword => f.write_str("the admin password is empty"),
            Self::Hash => f.write_str("cannot hash the admin password"),
        }
    }
}

impl std::error::Error for AuthSetupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Invalid { .. } | Self::EmptyPassword | Self::Hash => None,
        }
    }
}

/// The HS256 key that signs session tokens.
struct SigningKey(Zeroizing<[u8; SIGNING_KEY_LEN]>);

impl SigningKey {
    fn generate() -> SigningKey {
        let mut key = Zeroizing::new([0u8; SIGNING_KEY_LEN]);
        getrandom::fill(key.as_mut()).expect("the OS random source is available");
        SigningKey(key)
    }

    fn load_or_create(path: &Path) -> Result<SigningKey, AuthSetupError> {
        match read_private(path)? {
            Some(bytes) => {
                let bytes: [u8; SIGNING_KEY_LEN] =
                    bytes
                        .as_slice()
                        .try_into()
                        .map_err(|_| AuthSetupError::Invalid {
                            path: path.to_owned(),
                            reason: "wrong key length",
                        })?;
                Ok(SigningKey(Zeroizing::new(bytes)))
            }
            None => {
                let key = SigningKey::generate();
                write_private(path, key.expose_secret())?;
                Ok(key)
            }
        }
    }

    fn expose_secret(&self) -> &[u8] {
        self.0.as_slice()
    }
}

fn hash_password(password: &SecretString) -> Result<String, AuthSetupError> {
    if password.expose_secret().is_empty() {
        return Err(AuthSetupError::EmptyPassword);
    }
    let mut salt_bytes = [0u8; 16];
    getrandom::fill(&mut salt_bytes).expect("the OS random source is available");
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|_| AuthSetupError::Hash)?;
    Argon2::default()
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| AuthSetupError::Hash)
}

fn parse_hash_file(path: &Path, bytes: &[u8]) -> Result<String, AuthSetupError> {
    let invalid = || AuthSetupError::Invalid {
        path: path.to_owned(),
        reason: "not a password hash",
    };
    let text = std::str::from_utf8(bytes).map_err(|_| invalid())?.trim();
    PasswordHash::new(text).map_err(|_| invalid())?;
    Ok(text.to_owned())
}

/// Reads a file that must be private to its owner; `None` when absent.
fn read_private(path: &Path) -> Result<Option<Zeroizing<Vec<u8>>>, AuthSetupError> {
    let io_error = |source| AuthSetupError::Io {
        path: path.to_owned(),
        source,
    };
    let metadata = match fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(io_error(err)),
    };
    if metadata.permissions().mode() & 0o077 != 0 {
        let reason = "readable by others; must be mode 0600";
        return Err(AuthSetupError::Invalid {
            path: path.to_owned(),
            reason,
        });
    }
    fs::read(path)
        .map(|bytes| Some(Zeroizing::new(bytes)))
        .map_err(io_error)
}

/// Writes a new file with mode 0600 and syncs it; fails if it exists.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), AuthSetupError> {
    let io_error = |source| AuthSetupError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io_error)?;
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io_error)?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io_error)
}

fn random_token(len: usize) -> String {
    let mut bytes = Zeroizing::new(vec![0u8; len]);
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    URL_SAFE_NO_PAD.encode(&*bytes)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    #[test]
    fn issued_token_verifies_until_revoked() {
        let auth = Authenticator::in_memory("admin", &password("pw")).unwrap();
        let token = auth.issue();
        let claims = auth.verify(&token).expect("fresh token");
        assert_eq!(claims.sub, "admin");

        auth.revoke(&claims);
        assert!(auth.verify(&token).is_none());
    }

    #[test]
    fn token_of_another_key_is_refused() {
        let one = Authenticator::in_memory("admin", &password("pw")).unwrap();
        let other = Authenticator::in_memory("admin", &password("pw")).unwrap();
        assert!(other.verify(&one.issue()).is_none());
        assert!(one.verify("not.a.token").is_none());
    }

    #[test]
    fn expired_token_is_refused() {
        let auth = Authenticator::in_memory("admin", &password("pw"))
            .unwrap()
            .with_ttl(Duration::ZERO);
        let mut claims = auth.verify(&auth.issue()).expect("within leeway");
        claims.exp -= 3600;
        let old =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &auth.encoding).unwrap();
        assert!(auth.verify(&old).is_none());
    }

    #[test]
    fn password_check() {
        let auth = Authenticator::in_memory("admin", &password("right")).unwrap();
        assert!(auth.check_password("admin", &password("right")));
        assert!(!auth.check_password("admin", &password("wrong")));
        assert!(!auth.check_password("root", &password("right")));
    }

    #[test]
    fn open_generates_once_and_keeps_files_private() {
        let dir = tempfile::tempdir().unwrap();
        let (auth, generated) = Authenticator::open(dir.path(), "admin", None).unwrap();
        let generated = generated.expect("first start generates a password");
        assert!(auth.check_password("admin", &password(generated.expose_secret())));

        for file in [SIGNING_KEY_FILE, PASSWORD_HASH_FILE] {
            let mode = fs::metadata(dir.path().join(file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
        let stored = fs::read_to_string(dir.path().join(PASSWORD_HASH_FILE)).unwrap();
        assert!(!stored.contains(generated.expose_secret()));

        let (again, none) = Authenticator::open(dir.path(), "admin", None).unwrap();
        assert!(none.is_none());
        assert!(again.check_password("admin", &password(generated.expose_secret())));
        assert!(
            again.verify(&auth.issue()).is_some(),
            "the signing key persists"
        );
    }

    #[test]
    fn debug_output_is_redacted() {
        let auth = Authenticator::in_memory("admin", &password("pw")).unwrap();
        assert_eq!(
            format!("{auth:?}"),
            "Authenticator { user: \"admin\", ttl: 3600s, .. }"
        );
        assert_eq!(
            format!("{:?}", GeneratedPassword::new()),
            "GeneratedPassword([REDACTED])"
        );
    }
}
