//! Password hashing with argon2id (PHC strings), parameters from config.
//!
//! The argon2 memory comes from `hashing::with_blocks`: on the hashing pool's threads one
//! buffer per thread, reused by every hash (no 19 MiB allocation and page faults per login);
//! elsewhere a buffer of its own. The output is the argon2 crate's, byte for byte (tested).

use crate::config::PasswordPolicy;
use crate::secret::{SecretString, random_bytes};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as PHC_B64;
use subtle::ConstantTimeEq as _;

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
    /// In the configured breached-password list (`[password] blocklist_file`).
    #[error("{}", crate::blocklist::BREACHED)]
    Breached,
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
        let mut out = [0u8; 32];
        argon2_into(&self.argon2()?, password, &salt, &mut out)?;
        Ok(format!(
            "{}{}${}",
            self.prefix,
            PHC_B64.encode(&salt),
            PHC_B64.encode(out)
        ))
    }

    /// Hash a new password after the policy allows it (`check`).
    pub fn hash(&self, password: &SecretString) -> Result<String, PasswordError> {
        self.check(password)?;
        self.hash_raw(password.expose().as_bytes())
    }

    /// The policy for a new password, the one place every path that sets one goes through
    /// (`hash`): the configured minimum length, and not in the breached-password list.
    pub fn check(&self, password: &SecretString) -> Result<(), PasswordError> {
        if password.expose().chars().count() < self.policy.min_length {
            return Err(PasswordError::TooShort(self.policy.min_length));
        }
        if self
            .policy
            .blocklist
            .is_some_and(|list| list.contains(password.expose()))
        {
            return Err(PasswordError::Breached);
        }
        Ok(())
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
        let pw = password.expose().as_bytes();
        match stored {
            Some(hash) if hash.starts_with("$argon2") => verify_phc(pw, hash).unwrap_or(false),
            _ => {
                let _ = verify_phc(pw, &self.dummy);
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

/// Run argon2 into `out` with the thread's reusable memory blocks.
fn argon2_into(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), PasswordError> {
    crate::hashing::with_blocks(argon2.params().block_count(), |blocks| {
        argon2.hash_password_into_with_memory(password, salt, out, blocks)
    })
    .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the PHC string `phc` (argon2 of any variant and version, with
/// the string's own parameters), compared in constant time.
fn verify_phc(password: &[u8], phc: &str) -> Result<bool, PasswordError> {
    fn bad(e: impl std::fmt::Display) -> PasswordError {
        PasswordError::Hash(e.to_string())
    }
    let hash = argon2::PasswordHash::new(phc).map_err(bad)?;
    let algorithm = Algorithm::try_from(hash.algorithm.as_str()).map_err(bad)?;
    let version = match hash.version {
        Some(v) => Version::try_from(v).map_err(bad)?,
        None => Version::default(),
    };
    let params = Params::try_from(&hash).map_err(bad)?;
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return Ok(false);
    };
    let mut out = vec![0u8; expected.len()];
    argon2_into(
        &Argon2::new(algorithm, version, params),
        password,
        salt.as_ref(),
        &mut out,
    )?;
    Ok(out.ct_eq(expected.as_bytes()).into())
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
            blocklist: None,
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

    /// Every new password meets the breached-password list; a re-hash of a password just
    /// verified does not (it is not being chosen now).
    #[test]
    fn listed_passwords_are_refused_when_set() {
        let text = "correct horse battery\n5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:3\n";
        let list: &'static crate::blocklist::Blocklist = Box::leak(Box::new(
            crate::blocklist::Blocklist::parse(text.as_bytes(), text.len()).unwrap(),
        ));
        let h = PasswordHasherCfg::new(PasswordPolicy {
            blocklist: Some(list),
            ..cheap()
        })
        .expect("params");
        for listed in ["correct horse battery", "password"] {
            let e = h.hash(&SecretString::new(listed)).unwrap_err();
            assert!(matches!(e, PasswordError::Breached), "{listed}");
            assert_eq!(
                e.to_string(),
                "This password appears in a list of breached passwords; choose another."
            );
        }
        assert!(matches!(
            h.hash(&SecretString::new("abc")),
            Err(PasswordError::TooShort(4))
        ));
        assert!(h.hash(&SecretString::new("correct horse staple")).is_ok());
        assert!(h.hash_unchecked(&SecretString::new("password")).is_ok());
    }

    /// The PHC strings made here are the argon2 crate's, byte for byte, and each side
    /// verifies the other's.
    #[test]
    fn same_output_as_the_argon2_crate() {
        use argon2::{PasswordHasher as _, PasswordVerifier as _};
        let h = PasswordHasherCfg::new(cheap()).expect("params");
        let salt = b"sixteen byte slt";
        let theirs = h
            .argon2()
            .unwrap()
            .hash_password_with_salt(b"correct horse", salt)
            .unwrap()
            .to_string();
        let mut out = [0u8; 32];
        argon2_into(&h.argon2().unwrap(), b"correct horse", salt, &mut out).unwrap();
        let ours = format!(
            "{}{}${}",
            h.prefix,
            PHC_B64.encode(salt),
            PHC_B64.encode(out)
        );
        assert_eq!(ours, theirs);
        assert_eq!(verify_phc(b"correct horse", &theirs).ok(), Some(true));
        assert_eq!(verify_phc(b"wrong horse", &theirs).ok(), Some(false));
        let mine = h.hash(&SecretString::new("correct horse")).unwrap();
        let parsed = argon2::PasswordHash::new(&mine).unwrap();
        assert!(
            h.argon2()
                .unwrap()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        // Other variants and versions in stored hashes still verify (their own parameters).
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x10,
            Params::new(32, 2, 2, None).unwrap(),
        )
        .hash_password_with_salt(b"pw", salt)
        .unwrap()
        .to_string();
        assert!(h.verify(&SecretString::new("pw"), Some(&argon2i)));
    }

    /// RFC 9106 section 5.3 (Argon2id, with secret and associated data), on a pool thread
    /// whose memory blocks were used by another hash just before: reused memory gives the
    /// published tag.
    #[tokio::test]
    async fn rfc9106_argon2id_vector_on_reused_memory() {
        fn rfc9106() -> Vec<u8> {
            let params = argon2::ParamsBuilder::new()
                .m_cost(32)
                .t_cost(3)
                .p_cost(4)
                .data(argon2::AssociatedData::new(&[4; 12]).unwrap())
                .output_len(32)
                .build()
                .unwrap();
            let a = Argon2::new_with_secret(&[3; 8], Algorithm::Argon2id, Version::V0x13, params)
                .unwrap();
            let mut out = vec![0u8; 32];
            argon2_into(&a, &[1; 32], &[2; 16], &mut out).unwrap();
            out
        }
        let expected =
            hex::decode("0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659")
                .unwrap();
        assert_eq!(rfc9106(), expected, "own buffer");
        let pool = crate::hashing::HashingPool::new(1, 4).unwrap();
        let other = PasswordHasherCfg::new(cheap()).unwrap();
        let stored = other.hash(&SecretString::new("warm up")).unwrap();
        pool.run(move || other.verify(&SecretString::new("warm up"), Some(&stored)))
            .await
            .map(|ok| assert!(ok))
            .unwrap();
        assert_eq!(pool.run(rfc9106).await.unwrap(), expected, "reused");
        assert_eq!(pool.run(rfc9106).await.unwrap(), expected, "reused twice");
        assert_eq!(pool.allocations(), 1);
    }
}
