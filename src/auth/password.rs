//! Password hashing with argon2id (OWASP parameters: 19 MiB, 2 iterations, 1 lane).
//!
//! Hashing takes tens of milliseconds of CPU and 19 MiB of memory, so it runs
//! on tokio's blocking pool, at most one hash per core at a time: a burst of
//! sign-ins queues for the hashing permits instead of stalling the async
//! workers that serve other requests, and memory stays bounded.

use std::sync::LazyLock;

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

use crate::error::{AppError, AppResult};

/// Shortest accepted password, in characters.
pub const MIN_LENGTH: usize = 8;
/// Longest accepted password, in characters (a guard against hashing DoS).
pub const MAX_LENGTH: usize = 128;

/// Checks a new password's length; `field` names the argument in the error.
pub fn validate(password: &str, field: &'static str) -> AppResult<()> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(AppError::bad_input(
            field,
            format!("must be at least {MIN_LENGTH} characters"),
        ));
    }
    if length > MAX_LENGTH {
        return Err(AppError::bad_input(
            field,
            format!("must be at most {MAX_LENGTH} characters"),
        ));
    }
    Ok(())
}

/// Permits for concurrent argon2 work: one per core.
static HASHING: LazyLock<Semaphore> = LazyLock::new(|| {
    Semaphore::new(std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get))
});

/// Runs argon2 work on the blocking pool once a hashing permit is free.
async fn run_hashing<T: Send + 'static>(
    work: impl FnOnce() -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|err| AppError::internal("the hashing semaphore closed", err))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| AppError::internal("the hashing task failed", err))?
}

/// Hashes a password into a PHC string.
pub async fn hash(password: &str) -> AppResult<String> {
    let password = password.to_owned();
    run_hashing(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash: PasswordHash| hash.to_string())
            .map_err(|err| AppError::internal("cannot hash a password", err))
    })
    .await
}

/// True when `password` matches `stored`. With no stored hash (unknown user,
/// OAuth-only account) a dummy hash is checked instead, so the answer takes
/// the same time whether or not the account exists.
pub async fn verify(password: &str, stored: Option<&str>) -> AppResult<bool> {
    let password = password.to_owned();
    let stored = stored.map(str::to_owned);
    run_hashing(move || {
        let (phc, real) = match &stored {
            Some(stored) => (stored.as_str(), true),
            None => (DUMMY_HASH.as_str(), false),
        };
        let parsed = PasswordHash::new(phc)
            .map_err(|err| AppError::internal("a stored password hash is malformed", err))?;
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(matches && real)
    })
    .await
}

/// A hash of a random password with the same parameters as real ones.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let random: [u8; 16] = rand::random();
    Argon2::default()
        .hash_password(&random)
        .map(|hash: PasswordHash| hash.to_string())
        .expect("hashing 16 bytes with the default parameters cannot fail")
});

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_use_owasp_parameters() {
        let hash = hash("correct horse battery").await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify("correct horse battery", Some(&hash)).await.unwrap());
        assert!(!verify("wrong horse battery", Some(&hash)).await.unwrap());
        assert!(!verify("correct horse battery", None).await.unwrap());
    }

    #[test]
    fn length_limits() {
        assert!(validate("short", "password").is_err());
        assert!(validate("long enough", "password").is_ok());
        assert!(validate(&"x".repeat(128), "password").is_ok());
        assert!(validate(&"x".repeat(129), "password").is_err());
    }
}
