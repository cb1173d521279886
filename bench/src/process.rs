//! Child processes that serve on loopback: the Sandcall server and the raw
//! TCP echo. Each prints `listening on ADDR` first; the guard kills it when
//! dropped, so an error anywhere in the bench leaves no server behind.

use anyhow::{Context, bail};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A server running as a child of the bench; killed when dropped.
pub struct ServerProcess {
    child: Child,
    /// The address it printed.
    pub addr: String,
}

impl ServerProcess {
    /// Start `program args…` and wait (up to 30 s) for its
    /// `listening on ADDR` line.
    ///
    /// # Errors
    /// When it cannot be started or exits before printing the line; the
    /// message carries what it wrote to stderr.
    pub fn start(program: &Path, args: &[&str]) -> anyhow::Result<ServerProcess> {
        let mut child = Command::new(program)
            .args(args)
            .env("SANDCALL_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("while starting {}", program.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        // A thread reads the first line so that a hung child cannot hang us.
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        let mut guard = ServerProcess {
            child,
            addr: String::new(),
        };
        match line.trim().strip_prefix("listening on ") {
            Some(addr) => guard.addr = addr.to_string(),
            None => {
                let _ = guard.child.kill();
                let _ = guard.child.wait();
                let mut stderr = String::new();
                if let Some(mut e) = guard.child.stderr.take() {
                    let _ = e.read_to_string(&mut stderr);
                }
                bail!(
                    "{} {} did not print `listening on ADDR` (stdout: {:?}; stderr: {})",
                    program.display(),
                    args.join(" "),
                    line.trim(),
                    stderr.trim()
                );
            }
        }
        // Drain stderr so that a chatty server never blocks on a full pipe.
        if let Some(mut e) = guard.child.stderr.take() {
            std::thread::spawn(move || std::io::copy(&mut e, &mut std::io::sink()));
        }
        Ok(guard)
    }

    /// Its process id, for `/proc/PID/…`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `name` in the directory of the running executable (`target/release/`),
/// where cargo puts every binary of the workspace.
///
/// # Errors
/// When it is not there: build it first (`make bench` does).
pub fn sibling_binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("while locating the bench binary")?;
    let path = exe.with_file_name(name);
    if !path.exists() {
        bail!(
            "{} not found: build it with `cargo build --release -p sandcall-server --bin sandcall-server`",
            path.display()
        );
    }
    Ok(path)
}
