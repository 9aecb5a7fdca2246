//! Password hashing with argon2id. Deliberately slow, so it runs on blocking threads and
//! only at login and registration, never on ordinary requests.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{Result, ServiceError, on_blocking_pool};

/// Argon2id cost. The default follows OWASP's recommendation (19 MiB, 2 passes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct PasswordCost {
    pub memory_kib: u32,
    pub iterations: u32,
}

impl Default for PasswordCost {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
        }
    }
}

impl PasswordCost {
    fn argon2(self) -> Result<Argon2<'static>> {
        let params = Params::new(self.memory_kib, self.iterations, 1, None)
            .map_err(|e| ServiceError::Internal(e.to_string().into()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// Hashes on a blocking thread.
    pub async fn hash(self, password: String) -> Result<String> {
        on_blocking_pool(move || {
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            self.argon2()?
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| ServiceError::Internal(e.to_string().into()))
        })
        .await
    }

    /// Verifies on a blocking thread. The parameters stored in the hash are used.
    pub async fn verify(self, password: String, hash: String) -> Result<bool> {
        on_blocking_pool(move || {
            let parsed = PasswordHash::new(&hash)
                .map_err(|e| ServiceError::Internal(e.to_string().into()))?;
            Ok(self
                .argon2()?
                .verify_password(password.as_bytes(), &parsed)
                .is_ok())
        })
        .await
    }
}
