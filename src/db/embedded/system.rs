//! What the machine offers an embedded cluster: PostgreSQL's programs, and
//! an account other than root to run them as.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::EmbeddedError;

/// The account PostgreSQL's programs run as, when it is not ours.
#[derive(Debug, Clone, Copy)]
pub struct Account {
    /// Its user id.
    pub uid: u32,
    /// Its primary group id.
    pub gid: u32,
}

/// The directory holding `initdb` and `pg_ctl`: POSTGRES_BIN_DIR when set,
/// else the first of PATH, `pg_config --bindir`, Debian's
/// `/usr/lib/postgresql/<newest>/bin`.
pub fn find_programs(configured: Option<&Path>) -> Result<PathBuf, EmbeddedError> {
    if let Some(dir) = configured {
        return if has_programs(dir) {
            Ok(dir.to_path_buf())
        } else {
            Err(EmbeddedError::NoPrograms {
                searched: format!("in POSTGRES_BIN_DIR ({})", dir.display()),
            })
        };
    }
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    if let Some(dir) = on_path.into_iter().find(|dir| has_programs(dir)) {
        return Ok(dir);
    }
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
    if let Some(dir) = from_pg_config.filter(|dir| has_programs(dir)) {
        return Ok(dir);
    }
    let mut debian: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_programs(dir))
        .collect();
    debian.sort();
    debian
        .pop()
        .map(|(_, dir)| dir)
        .ok_or_else(|| EmbeddedError::NoPrograms {
            searched: "on PATH, through pg_config or in /usr/lib/postgresql".into(),
        })
}

fn has_programs(dir: &Path) -> bool {
    ["initdb", "pg_ctl"]
        .iter()
        .all(|program| is_executable(&dir.join(program)))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// Who runs PostgreSQL: this process, or the `postgres` account when this
/// process is root (PostgreSQL refuses to run as root).
pub fn account() -> Result<Option<Account>, EmbeddedError> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if euid != 0 {
        return Ok(None);
    }
    let passwd = fs::read_to_string("/etc/passwd").map_err(|_| EmbeddedError::NoAccount)?;
    passwd
        .lines()
        .find_map(|line| {
            let mut fields = line.split(':');
            if fields.next()? != "postgres" {
                return None;
            }
            let uid = fields.nth(1)?.parse().ok()?;
            let gid = fields.next()?.parse().ok()?;
            Some(Account { uid, gid })
        })
        .filter(|account| account.uid != 0)
        .map(Some)
        .ok_or(EmbeddedError::NoAccount)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bin_dir_without_programs_is_refused_with_the_hint() {
        let err = find_programs(Some(Path::new("/nonexistent"))).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("POSTGRES_BIN_DIR (/nonexistent)"), "{text}");
        assert!(text.contains("apt install postgresql"), "{text}");
    }
}
