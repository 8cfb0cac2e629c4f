//! The `estafette-relay` binary as a child process: started on a port the
//! OS chooses, killed with `kill -9` and restarted on the same port and
//! data, its admin commands, and its figures from `/proc`.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::error::KitError;

/// The relay binary, serving.
pub struct RelayProcess {
    child: Child,
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Its data directory.
    pub data: PathBuf,
    bin: PathBuf,
    args: Vec<String>,
    log: Option<PathBuf>,
}

impl RelayProcess {
    /// Starts `bin --data-dir data serve --listen 127.0.0.1:0 args…` with
    /// logs at `warn`, appended to `log` (or on this process's stderr).
    pub fn start(
        bin: &Path,
        data: &Path,
        args: &[String],
        log: Option<&Path>,
    ) -> Result<Self, KitError> {
        Self::start_on(bin, data, "127.0.0.1:0", args, log)
    }

    fn start_on(
        bin: &Path,
        data: &Path,
        listen: &str,
        args: &[String],
        log: Option<&Path>,
    ) -> Result<Self, KitError> {
        let stderr = match log {
            Some(path) => Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(KitError::io("cannot create the relay log"))?,
            ),
            None => Stdio::inherit(),
        };
        let mut child = Command::new(bin)
            .arg("--data-dir")
            .arg(data)
            .args(["serve", "--listen", listen])
            .args(args)
            .env("ESTAFETTE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(KitError::io(format!("cannot start {}", bin.display())))?;
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            // The relay prints its address first, or exits (EOF) on failure.
            let _ = BufReader::new(stdout).read_line(&mut line);
        }
        let Some(addr) = printed_address(&line) else {
            let _ = child.kill();
            let _ = child.wait();
            let log = log
                .and_then(|path| std::fs::read_to_string(path).ok())
                .unwrap_or_default();
            return Err(KitError::NoStart { printed: line, log });
        };
        Ok(Self {
            child,
            addr,
            data: data.to_path_buf(),
            bin: bin.to_path_buf(),
            args: args.to_vec(),
            log: log.map(Path::to_path_buf),
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Where its log goes, if not to this process's stderr.
    pub fn log(&self) -> Option<&Path> {
        self.log.as_deref()
    }

    /// `kill -9`, then starts it again on the same address and data.
    pub fn kill9_and_restart(&mut self) -> Result<(), KitError> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The port is free again once the process is gone.
        let listen = self.addr.to_string();
        let log = self.log.clone();
        *self = Self::start_on(&self.bin, &self.data, &listen, &self.args, log.as_deref())?;
        Ok(())
    }

    /// Whether it is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// A `/proc/<pid>/status` field's value, e.g. `RssAnon:` or `Threads:`.
    pub fn status(&self, field: &str) -> Option<String> {
        proc_status(self.pid(), field)
    }

    /// Its resident memory, in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.pid())
    }

    /// Runs an admin command on its data directory; its stdout.
    pub fn admin(&self, args: &[&str]) -> Result<String, KitError> {
        admin(&self.bin, &self.data, args)
    }

    /// Invites `handle` with the `invite` command; the token of the join URL.
    pub fn invite(&self, handle: &str, name: &str) -> Result<String, KitError> {
        let printed = self.admin(&["invite", "--handle", handle, "--name", name])?;
        printed
            .split("#/join/")
            .nth(1)
            .map(|token| token.trim().to_owned())
            .ok_or(KitError::Admin {
                args: "invite".into(),
                stderr: format!("no join URL in {printed:?}"),
            })
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address in the relay's first line (`… http://127.0.0.1:1234/ …`).
fn printed_address(line: &str) -> Option<SocketAddr> {
    line.split("http://")
        .nth(1)?
        .split('/')
        .next()?
        .parse()
        .ok()
}

/// Runs `bin --data-dir data args…`; its stdout, or an error with its stderr.
pub fn admin(bin: &Path, data: &Path, args: &[&str]) -> Result<String, KitError> {
    let out = Command::new(bin)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .map_err(KitError::io(format!("cannot run {}", bin.display())))?;
    if !out.status.success() {
        return Err(KitError::Admin {
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A `/proc/<pid>/status` field's value.
pub fn proc_status(pid: u32, field: &str) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(field).map(|v| v.trim().to_owned()))
}

/// A process's resident memory (`VmRSS`), in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    proc_status(pid, "VmRSS:")?
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::printed_address;

    #[test]
    fn the_address_is_read_from_either_start_line() {
        assert_eq!(
            printed_address(
                "Estafette relay is running on http://127.0.0.1:4321/ (no web app served)"
            ),
            Some(([127, 0, 0, 1], 4321).into())
        );
        assert_eq!(
            printed_address("Estafette is running: open http://127.0.0.1:80/  (Ctrl+C to stop)"),
            Some(([127, 0, 0, 1], 80).into())
        );
        assert_eq!(printed_address(""), None);
        assert_eq!(printed_address("http://nonsense/"), None);
    }
}
