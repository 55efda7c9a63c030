//! Password hashing with argon2id (OWASP parameters: 19 MiB, 2 iterations, 1 lane).
//!
//! Hashing takes tens of milliseconds of CPU and 19 MiB of memory, so it runs
//! on threads of its own, at most one hash per core at a time, and at a lower
//! CPU priority than the threads that serve requests: a burst of sign-ins
//! queues for the hashing permits instead of stalling the async workers, takes
//! the CPU that the rest of the server leaves (all of it when idle, little of
//! it under load), and memory stays bounded.
//!
//! Accounts imported from the Next.js app keep their bcrypt hashes (`$2a$`,
//! `$2b$`, `$2y$`) until their owner next signs in: [`check`] verifies them
//! under the same permits and says when a hash is [`Verdict::outdated`], so the
//! caller can replace it with argon2id. Argon2 hashes made with weaker
//! parameters than today's are outdated too.

use std::sync::LazyLock;

use argon2::{Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier};
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

/// Hashing threads, and permits for concurrent argon2 work: one per core.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

static HASHING: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(cores()));

/// The nice value of the hashing threads (request threads run at 0): under
/// full load they get about a tenth of a core's time.
const HASHING_NICE: i32 = 10;

static HASHERS: LazyLock<Result<rayon::ThreadPool, rayon::ThreadPoolBuildError>> =
    LazyLock::new(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(cores())
            .thread_name(|index| format!("hashing-{index}"))
            .start_handler(|_| lower_priority())
            // A panic ends one hash (its caller gets an internal error), not the process.
            .panic_handler(|_| tracing::error!("a password hashing task panicked"))
            .build()
    });

/// Lowers the calling thread's CPU priority; on Linux the nice value is per thread.
#[cfg(target_os = "linux")]
fn lower_priority() {
    // SAFETY: gettid has no preconditions; setpriority only reads its arguments.
    let changed = unsafe {
        let thread = libc::id_t::try_from(libc::gettid()).unwrap_or_default();
        libc::setpriority(libc::PRIO_PROCESS, thread, HASHING_NICE)
    };
    if changed != 0 {
        tracing::warn!(
            error = %std::io::Error::last_os_error(),
            "cannot lower the priority of a password hashing thread"
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

/// Runs argon2 work on the hashing threads once a hashing permit is free.
async fn run_hashing<T: Send + 'static>(
    work: impl FnOnce() -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|err| AppError::internal("the hashing semaphore closed", err))?;
    let hashers = HASHERS
        .as_ref()
        .map_err(|err| AppError::internal("cannot start the hashing threads", err))?;
    let (done, result) = tokio::sync::oneshot::channel();
    hashers.spawn(move || {
        // The caller may have gone (a closed connection): nobody to tell.
        let _ = done.send(work());
    });
    result
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
    Ok(check(password, stored).await?.matches)
}

/// What checking a password against a stored hash found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// The password is right.
    pub matches: bool,
    /// The stored hash is bcrypt, or argon2 weaker than today's: once the
    /// password is known to be right, hash it again and replace the old hash.
    pub outdated: bool,
}

/// Like [`verify`], and also tells whether the stored hash should be replaced.
pub async fn check(password: &str, stored: Option<&str>) -> AppResult<Verdict> {
    let password = password.to_owned();
    let stored = stored.map(str::to_owned);
    run_hashing(move || {
        let (stored, real) = match &stored {
            Some(stored) => (stored.as_str(), true),
            None => (DUMMY_HASH.as_str(), false),
        };
        let malformed = |err: &dyn std::fmt::Display| {
            AppError::internal("a stored password hash is malformed", err)
        };
        let verdict = match StoredHash::parse(stored).map_err(|err| malformed(&err))? {
            StoredHash::Bcrypt(hash) => Verdict {
                matches: bcrypt::verify(password.as_bytes(), hash)
                    .map_err(|err| malformed(&err))?,
                outdated: true,
            },
            StoredHash::Argon2(parsed) => Verdict {
                matches: Argon2::default()
                    .verify_password(password.as_bytes(), &*parsed)
                    .is_ok(),
                outdated: weaker_than_today(&parsed),
            },
        };
        Ok(Verdict {
            matches: verdict.matches && real,
            outdated: verdict.outdated && real,
        })
    })
    .await
}

/// True when `stored` is a hash that [`check`] can verify within its limits:
/// an argon2 PHC string, or a bcrypt hash (`$2a$`, `$2b$`, `$2y$`) of cost 4 to
/// [`MAX_BCRYPT_COST`]. The import uses it to drop anything else.
pub fn recognizes(stored: &str) -> bool {
    StoredHash::parse(stored).is_ok()
}

/// Highest bcrypt cost accepted: each step doubles the work, and cost 15
/// already takes seconds, which would let one sign-in hold a hashing permit.
pub const MAX_BCRYPT_COST: u32 = 15;
/// Highest argon2 memory cost accepted from a stored hash, in KiB (256 MiB).
const MAX_ARGON2_M_COST: u32 = 256 * 1024;
/// Highest argon2 iteration count accepted from a stored hash.
const MAX_ARGON2_T_COST: u32 = 16;

/// A stored password hash, by scheme.
enum StoredHash<'a> {
    Bcrypt(&'a str),
    Argon2(Box<PasswordHash>),
}

impl<'a> StoredHash<'a> {
    fn parse(stored: &'a str) -> Result<Self, String> {
        if let Some(rest) = ["$2a$", "$2b$", "$2y$"]
            .iter()
            .find_map(|prefix| stored.strip_prefix(prefix))
        {
            let (cost, hash) = rest.split_once('$').ok_or("a bcrypt hash without a cost")?;
            let cost: u32 = cost.parse().map_err(|_| "a bcrypt hash with a bad cost")?;
            let well_formed = hash.len() == 53
                && hash
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/');
            if !(4..=MAX_BCRYPT_COST).contains(&cost) || !well_formed {
                return Err(format!(
                    "a bcrypt hash of cost {cost} (accepted: 4 to {MAX_BCRYPT_COST}) or of a bad shape"
                ));
            }
            return Ok(Self::Bcrypt(stored));
        }
        let parsed = PasswordHash::new(stored).map_err(|err| err.to_string())?;
        if !parsed.algorithm.as_str().starts_with("argon2") {
            return Err(format!("an unsupported scheme {}", parsed.algorithm));
        }
        let params = Params::try_from(&parsed).map_err(|err| err.to_string())?;
        if params.m_cost() > MAX_ARGON2_M_COST || params.t_cost() > MAX_ARGON2_T_COST {
            return Err("an argon2 hash with costs above the accepted limits".into());
        }
        Ok(Self::Argon2(Box::new(parsed)))
    }
}

/// True when an argon2 hash is not argon2id v19, or uses less memory or fewer
/// iterations than today's parameters.
fn weaker_than_today(parsed: &PasswordHash) -> bool {
    let Ok(params) = Params::try_from(parsed) else {
        return true;
    };
    parsed.algorithm.as_str() != "argon2id"
        || parsed.version != Some(0x13)
        || params.m_cost() < Params::DEFAULT_M_COST
        || params.t_cost() < Params::DEFAULT_T_COST
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

    /// A burst of sign-ins must leave the request threads the CPU they need.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_run_below_the_priority_of_requests() {
        hash("correct horse battery").await.unwrap();
        let mut hashers = 0;
        for task in std::fs::read_dir("/proc/self/task").unwrap() {
            let path = task.unwrap().path();
            let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
            if !name.starts_with("hashing-") {
                continue;
            }
            let stat = std::fs::read_to_string(path.join("stat")).unwrap();
            // Fields after the command's closing parenthesis start at field 3;
            // the nice value is field 19.
            let after_name = &stat[stat.rfind(')').unwrap() + 2..];
            let nice: i32 = after_name.split(' ').nth(16).unwrap().parse().unwrap();
            assert_eq!(nice, HASHING_NICE, "{name}");
            hashers += 1;
        }
        assert_eq!(hashers, cores());
    }

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

    /// "old-app-password" hashed at cost 10 by another implementation (Python's bcrypt 5).
    const BCRYPT_2B: &str = "$2b$10$o1ZIF4u1592094CFucy2ve2IMDHBL20rCajsQTgqeSUb7RVJ8s6.K";

    #[tokio::test]
    async fn bcrypt_hashes_verify_and_are_outdated() {
        for prefix in ["$2a$", "$2b$", "$2y$"] {
            let stored = BCRYPT_2B.replacen("$2b$", prefix, 1);
            let right = check("old-app-password", Some(&stored)).await.unwrap();
            assert_eq!(
                right,
                Verdict {
                    matches: true,
                    outdated: true
                },
                "{prefix}"
            );
            let wrong = check("old-app-passwore", Some(&stored)).await.unwrap();
            assert!(!wrong.matches, "{prefix}");
        }
        assert!(recognizes(BCRYPT_2B));
        assert!(!recognizes(&BCRYPT_2B.replacen("$2b$", "$2x$", 1)));
        assert!(!recognizes(&BCRYPT_2B.replacen("$10$", "$16$", 1)));
        assert!(!recognizes("plain text"));
        assert!(!recognizes("$pbkdf2-sha256$i=1000$c2FsdA$aGFzaA"));
    }

    #[tokio::test]
    async fn weaker_argon2_hashes_are_outdated_and_todays_are_not() {
        let today = hash("correct horse battery").await.unwrap();
        let verdict = check("correct horse battery", Some(&today)).await.unwrap();
        assert_eq!(
            verdict,
            Verdict {
                matches: true,
                outdated: false
            }
        );
        let weak_params = Params::new(4096, 1, 1, None).unwrap();
        let weak = Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            weak_params,
        )
        .hash_password(b"correct horse battery")
        .unwrap()
        .to_string();
        let verdict = check("correct horse battery", Some(&weak)).await.unwrap();
        assert_eq!(
            verdict,
            Verdict {
                matches: true,
                outdated: true
            }
        );
        let argon2i = Argon2::new(
            argon2::Algorithm::Argon2i,
            argon2::Version::V0x13,
            Params::default(),
        )
        .hash_password(b"correct horse battery")
        .unwrap()
        .to_string();
        assert!(
            check("correct horse battery", Some(&argon2i))
                .await
                .unwrap()
                .outdated
        );
        assert!(
            !check("x", None).await.unwrap().outdated,
            "the dummy hash is never outdated"
        );
    }

    #[test]
    fn length_limits() {
        assert!(validate("short", "password").is_err());
        assert!(validate("long enough", "password").is_ok());
        assert!(validate(&"x".repeat(128), "password").is_ok());
        assert!(validate(&"x".repeat(129), "password").is_err());
    }
}
