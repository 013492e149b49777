//! Password hashing with argon2id (PHC strings), parameters from config.

use crate::config::PasswordPolicy;
use crate::secret::{SecretString, random_bytes};
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("argon2 parameters rejected: {0}")]
    Params(String),
    #[error("hashing failed: {0}")]
    Hash(String),
    #[error("the system random number generator failed")]
    Random,
    #[error("password is too short: at least {0} characters")]
    TooShort(usize),
}

/// Hashes and verifies passwords with the configured argon2id parameters.
#[derive(Debug, Clone)]
pub struct PasswordHasherCfg {
    policy: PasswordPolicy,
    prefix: String,
    /// A hash of a random password with the current parameters: unknown users are verified
    /// against it, so they cost the same time as known ones.
    dummy: String,
}

impl PasswordHasherCfg {
    pub fn new(policy: PasswordPolicy) -> Result<Self, PasswordError> {
        let prefix = format!(
            "$argon2id$v=19$m={},t={},p={}$",
            policy.memory_kib, policy.iterations, policy.parallelism
        );
        let mut this = Self {
            policy,
            prefix,
            dummy: String::new(),
        };
        let random = random_bytes(24).map_err(|_| PasswordError::Random)?;
        this.dummy = this.hash_raw(&random)?;
        Ok(this)
    }

    pub fn policy(&self) -> &PasswordPolicy {
        &self.policy
    }

    fn argon2(&self) -> Result<Argon2<'static>, PasswordError> {
        let params = Params::new(
            self.policy.memory_kib,
            self.policy.iterations,
            self.policy.parallelism,
            None,
        )
        .map_err(|e| PasswordError::Params(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    fn hash_raw(&self, password: &[u8]) -> Result<String, PasswordError> {
        let salt = random_bytes(16).map_err(|_| PasswordError::Random)?;
        let hash = self
            .argon2()?
            .hash_password_with_salt(password, &salt)
            .map_err(|e| PasswordError::Hash(e.to_string()))?;
        Ok(hash.to_string())
    }

    /// Hash a new password (checks the configured minimum length).
    pub fn hash(&self, password: &SecretString) -> Result<String, PasswordError> {
        if password.expose().chars().count() < self.policy.min_length {
            return Err(PasswordError::TooShort(self.policy.min_length));
        }
        self.hash_raw(password.expose().as_bytes())
    }

    /// Re-hash a password that was just verified (parameters changed): no length check.
    pub fn hash_unchecked(&self, password: &SecretString) -> Result<String, PasswordError> {
        self.hash_raw(password.expose().as_bytes())
    }

    /// Verify against a stored PHC string (its own parameters are used). A missing or
    /// unparsable hash is verified against the dummy hash and fails, at the same cost.
    pub fn verify(&self, password: &SecretString, stored: Option<&str>) -> bool {
        #[cfg(test)]
        ARGON2_RUNS.with(|n| n.set(n.get() + 1));
        let Ok(argon2) = self.argon2() else {
            return false;
        };
        match stored {
            Some(hash) if hash.starts_with("$argon2") => argon2
                .verify_password(password.expose().as_bytes(), hash)
                .is_ok(),
            _ => {
                let _ = argon2.verify_password(password.expose().as_bytes(), self.dummy.as_str());
                false
            }
        }
    }

    /// Spend the time of one verification without a real hash (unknown or locked accounts).
    pub fn verify_dummy(&self, password: &SecretString) {
        let _ = self.verify(password, None);
    }

    /// Whether a stored hash was made with other parameters than the configured ones.
    pub fn needs_rehash(&self, stored: &str) -> bool {
        !stored.starts_with(&self.prefix)
    }
}

#[cfg(test)]
thread_local! {
    /// argon2 verifications run on this thread (tests check that every path pays one).
    pub(crate) static ARGON2_RUNS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn cheap() -> PasswordPolicy {
        PasswordPolicy {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            hashing_threads: 1,
            min_length: 4,
        }
    }

    #[test]
    fn hash_verify_and_rehash_detection() {
        let h = PasswordHasherCfg::new(cheap()).expect("params");
        let pw = SecretString::new("correct horse");
        let stored = h.hash(&pw).expect("hash");
        assert!(
            stored.starts_with("$argon2id$v=19$m=64,t=1,p=1$"),
            "{stored}"
        );
        assert!(h.verify(&pw, Some(&stored)));
        assert!(!h.verify(&SecretString::new("wrong horse"), Some(&stored)));
        assert!(!h.verify(&pw, None));
        assert!(!h.verify(&pw, Some("garbage")));
        assert!(!h.needs_rehash(&stored));
        let stronger = PasswordHasherCfg::new(PasswordPolicy {
            memory_kib: 128,
            ..cheap()
        })
        .expect("params");
        assert!(stronger.needs_rehash(&stored));
        assert!(
            stronger.verify(&pw, Some(&stored)),
            "old params still verify"
        );
    }

    #[test]
    fn owasp_default_prefix() {
        let h = PasswordHasherCfg::new(PasswordPolicy::default()).expect("params");
        assert!(!h.needs_rehash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"));
        assert!(matches!(
            h.hash(&SecretString::new("short")),
            Err(PasswordError::TooShort(10))
        ));
    }
}
