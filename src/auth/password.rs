//! Password hashing with Argon2id. Hashing costs tens of milliseconds of a core, so
//! the async entry points run it on the blocking pool, never on an event loop.
//! Unknown phones are verified against a dummy hash with the same parameters, so a
//! login's timing does not tell which accounts exist.
//!
//! At most one hash per core runs at a time: a flood of logins then queues on a
//! semaphore (costing nothing) instead of starting hundreds of blocking threads that
//! each hold 19 MiB and fight over the cores, which would slow every hash and every
//! other request alike.

use std::sync::Arc;

use tokio::sync::Semaphore;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::config::Argon2Settings;
use crate::error::AppError;

#[derive(Clone)]
pub struct PasswordHashing {
    params: Params,
    /// A hash of a random password, verified when the phone is unknown.
    dummy_hash: String,
    /// One permit per core: how many hashes may run at once.
    gate: Arc<Semaphore>,
}

impl PasswordHashing {
    pub fn new(settings: Argon2Settings) -> anyhow::Result<PasswordHashing> {
        let params = Params::new(settings.memory_kib, settings.iterations, settings.parallelism, None)
            .map_err(|e| anyhow::anyhow!("bad argon2 parameters: {e}"))?;
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let mut hashing = PasswordHashing {
            params,
            dummy_hash: String::new(),
            gate: Arc::new(Semaphore::new(cores)),
        };
        let random: [u8; 16] = rand::random();
        hashing.dummy_hash = hashing.hash_blocking(&hex::encode(random))?;
        Ok(hashing)
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Hashes on the calling thread: for the CLI, benchmarks and start-up.
    pub fn hash_blocking(&self, password: &str) -> anyhow::Result<String> {
        let hash = self
            .argon2()
            .hash_password(password.as_bytes())
            .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))?;
        Ok(hash.to_string())
    }

    /// Verifies on the calling thread; `None` verifies against the dummy hash and
    /// answers false.
    pub fn verify_blocking(&self, password: &str, stored: Option<&str>) -> bool {
        let target = stored.unwrap_or(&self.dummy_hash);
        let matches = PasswordHash::new(target)
            .map(|parsed| self.argon2().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false);
        matches && stored.is_some()
    }

    async fn permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, AppError> {
        self.gate
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing gate closed: {e}")))
    }

    // The permit moves into the blocking closure: a client that disconnects drops
    // this future, but the hash runs on, and must keep counting against the gate.
    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        let permit = self.permit().await?;
        let hashing = self.clone();
        actix_web::web::block(move || {
            let _permit = permit;
            hashing.hash_blocking(&password)
        })
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing task failed: {e}")))?
        .map_err(AppError::Internal)
    }

    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, AppError> {
        let permit = self.permit().await?;
        let hashing = self.clone();
        actix_web::web::block(move || {
            let _permit = permit;
            hashing.verify_blocking(&password, stored.as_deref())
        })
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("verification task failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_its_own_hashes_and_nothing_else() {
        let hashing = PasswordHashing::new(Argon2Settings {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        })
        .expect("params");
        let hash = hashing.hash_blocking("correct horse").expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(hashing.verify_blocking("correct horse", Some(&hash)));
        assert!(!hashing.verify_blocking("wrong horse", Some(&hash)));
        assert!(!hashing.verify_blocking("correct horse", None));
        assert!(!hashing.verify_blocking("correct horse", Some("not a hash")));
    }

    #[actix_rt::test]
    async fn an_abandoned_hash_holds_its_permit_until_it_finishes() {
        let hashing = PasswordHashing::new(Argon2Settings {
            memory_kib: 65_536,
            iterations: 16,
            parallelism: 1,
        })
        .expect("parameters");
        let all = hashing.gate.available_permits();
        // The client goes away 20 ms into a hash that takes far longer.
        let abandoned = actix_rt::time::timeout(
            std::time::Duration::from_millis(20),
            hashing.hash("correct horse battery".to_owned()),
        )
        .await;
        assert!(abandoned.is_err(), "the hash outlasts the client");
        assert_eq!(
            hashing.gate.available_permits(),
            all - 1,
            "the running hash keeps its permit"
        );
        for _ in 0..200 {
            if hashing.gate.available_permits() == all {
                return;
            }
            actix_rt::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the permit came back only after the hash");
    }
}
