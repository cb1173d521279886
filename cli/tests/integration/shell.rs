//! `sandcall shell` on a pseudo-terminal, as a person uses it: Tab
//! completion, and Ctrl-C, which cancels a spinning call and keeps the
//! session; Ctrl-C at the prompt leaves.

use crate::cli::{ADD, scratch, write};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The shell's side of a pseudo-terminal: what it printed so far, and the
/// master end to type into.
struct Terminal {
    master: File,
    screen: Arc<Mutex<Vec<u8>>>,
    /// How far [`Terminal::expect`] has read.
    seen: usize,
    child: Child,
}

impl Terminal {
    /// `sandcall ARGS` with a new pseudo-terminal as its controlling
    /// terminal and stdin, stdout and stderr.
    fn spawn(args: &[&str]) -> Terminal {
        let (mut master, mut slave) = (-1, -1);
        // SAFETY: openpty writes two new descriptors; null name/termios/winsize.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both descriptors are fresh and owned here.
        let (master, slave) = unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sandcall"));
        cmd.args(args)
            .env("TERM", "xterm")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: setsid and ioctl are async-signal-safe; the child gets its
        // own session with the terminal (its stdin) as controlling terminal,
        // so ^C on the master sends SIGINT to it.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("sandcall runs");
        let screen = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().unwrap();
        let sink = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Terminal {
            master,
            screen,
            seen: 0,
            child,
        }
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned()
    }

    /// Wait until `needle` appears after what was expected before, and
    /// move past it.
    fn expect(&mut self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let screen = self.screen();
            if let Some(at) = screen.get(self.seen..).and_then(|rest| rest.find(needle)) {
                self.seen += at + needle.len();
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} on screen after byte {}:\n{screen}",
                self.seen
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn type_in(&mut self, keys: &str) {
        self.master.write_all(keys.as_bytes()).unwrap();
        self.master.flush().unwrap();
    }

    /// CPU time of the shell process (user + system), from /proc.
    fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        // Fields after the command name, which is in parentheses.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
        Duration::from_millis(ticks * 1000 / hz)
    }
}

#[test]
fn ctrl_c_cancels_a_spinning_call_and_the_session_goes_on() {
    let dir = scratch("shell-pty");
    let file = write(&dir, "add.wat", ADD);
    // --embedded: the server runs inside the shell's process, so that its
    // CPU time shows the guest spinning, and then not.
    let mut term = Terminal::spawn(&["--embedded", "shell"]);
    term.expect("sandcall> ");
    term.type_in(&format!("execute spinner {}\r", file.display()));
    term.expect("spinner: core module, exports add, swap, spin");
    // Tab completes the command, the instance and the export.
    term.expect("sandcall> ");
    term.type_in("ev\tsp\tad\t20 22\r");
    term.expect("\n42\r\n");
    term.expect("sandcall> ");

    let before = term.cpu();
    term.type_in("eval spinner spin --cpu-ms 60000 --deadline-ms 60000\r");
    // The guest spins: the process burns CPU. Only then is the terminal
    // back in its normal mode, where ^C is a signal.
    let deadline = Instant::now() + Duration::from_secs(30);
    while term.cpu() < before + Duration::from_millis(300) {
        assert!(Instant::now() < deadline, "the call never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pressed = Instant::now();
    term.type_in("\x03");
    term.expect("cancelled: `eval spinner spin");
    let cancelled_after = pressed.elapsed();
    term.expect("sandcall> ");
    term.type_in("eval spinner add 1 2\r");
    term.expect("\n3\r\n");
    // The server stopped the guest: the process idles again.
    let idle = term.cpu();
    std::thread::sleep(Duration::from_millis(500));
    let spent = term.cpu() - idle;
    println!("cancelled {cancelled_after:?} after ^C; then {spent:?} of CPU in 500 ms");
    assert!(
        spent < Duration::from_millis(250),
        "still spinning: {spent:?}"
    );

    // Ctrl-C at the prompt leaves.
    term.expect("sandcall> ");
    term.type_in("\x03");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = term.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the shell did not leave:\n{}",
            term.screen()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}\n{}", term.screen());
}
