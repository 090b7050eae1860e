//! Redis, then PostgreSQL, stop in the middle of a sign-in load on two instances and come
//! back. Requests meanwhile fail fast with 503 and a log line naming the cause, never 500 or a
//! hang; the instances recover by themselves; afterwards nothing was lost or recorded twice.
//!
//! The servers here are private to the test (a Redis child process and a PostgreSQL cluster in
//! a temporary directory, both on free ports), so stopping them cannot disturb other tests.

mod cluster;

use cluster::{Browser, Instance, free_port};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// A redis-server child process on its own port.
struct Redis {
    port: u16,
    child: Option<Child>,
}

impl Redis {
    fn start() -> Self {
        let mut r = Self {
            port: free_port(),
            child: None,
        };
        r.restart();
        r
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (apt install redis-server)");
        self.child = Some(child);
        wait_for_port(self.port);
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A PostgreSQL cluster in a temporary directory, run as the `postgres` user when the test
/// runs as root (PostgreSQL refuses root).
struct Postgres {
    port: u16,
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
}

fn postgres_bin() -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<_> = std::fs::read_dir(root)
        .expect("PostgreSQL server binaries in /usr/lib/postgresql")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("pg_ctl").exists())
        .collect();
    versions.sort();
    versions.pop().expect("a PostgreSQL version with pg_ctl")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Postgres {
    fn start() -> Self {
        let dir = std::env::temp_dir().join(cluster::unique("passkeyd_pg"));
        std::fs::create_dir_all(&dir).unwrap();
        let pg = Self {
            port: free_port(),
            dir,
            bin: postgres_bin(),
            as_postgres: is_root(),
        };
        if pg.as_postgres {
            let ok = Command::new("chown")
                .args(["postgres"])
                .arg(&pg.dir)
                .status()
                .unwrap();
            assert!(ok.success(), "chown postgres");
        }
        pg.run(
            "initdb",
            &[
                "-D",
                &pg.data(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        pg.restart();
        pg
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn command(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let out = self.command(tool).args(args).output().expect(tool);
        assert!(
            out.status.success(),
            "{tool} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn restart(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("postgres.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
    }

    /// Stops the server the way a crash does: no checkpoint, connections cut.
    fn kill(&self) {
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args(["-D", &self.data(), "-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn wait_for_port(port: u16) {
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing listens on port {port}");
}

/// What the load saw.
#[derive(Default)]
struct Tally {
    successes: u64,
    statuses: std::collections::BTreeMap<u16, u64>,
    slowest_failure: Duration,
    /// When the last success of each instance (0, 1) happened.
    last_success: [Option<Instant>; 2],
}

const WORKERS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_fail_fast_during_outages_and_recover_without_restart() {
    let mut redis = Redis::start();
    let pg = Postgres::start();
    let (store, ephemeral) = (pg.url(), redis.url());
    let (a, b) = tokio::join!(
        Instance::start(&store, &ephemeral, "outage:"),
        Instance::start(&store, &ephemeral, "outage:"),
    );
    let instances = Arc::new([a, b]);

    // One account per worker, signed up before the load.
    let mut authenticators = Vec::new();
    for w in 0..WORKERS {
        let browser = Browser::new();
        authenticators.push(
            browser
                .sign_up(&instances[0], &instances[1], &format!("user{w}"))
                .await,
        );
    }

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut workers = Vec::new();
    for (w, mut auth) in authenticators.into_iter().enumerate() {
        let (instances, stop, tally) = (instances.clone(), stop.clone(), tally.clone());
        workers.push(tokio::spawn(async move {
            let browser = Browser::new();
            let mut i = w;
            while !stop.load(Ordering::Relaxed) {
                // Start on one instance, finish on the other, alternating.
                let (s, f) = (i % 2, (i + 1) % 2);
                i += 1;
                let began = Instant::now();
                let r = browser
                    .sign_in(
                        &instances[s],
                        &instances[f],
                        &mut auth,
                        Some(&format!("user{w}")),
                    )
                    .await;
                let status = r.status.as_u16();
                let mut t = tally.lock().await;
                *t.statuses.entry(status).or_default() += 1;
                if status == 200 {
                    t.successes += 1;
                    t.last_success[f] = Some(Instant::now());
                } else {
                    t.slowest_failure = t.slowest_failure.max(began.elapsed());
                    drop(t);
                    // A client backs off a little after a failure.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }));
    }

    let phase = Duration::from_millis(1500);
    tokio::time::sleep(phase).await;
    redis.kill();
    tokio::time::sleep(phase).await;
    let redis_down_statuses = tally.lock().await.statuses.clone();
    redis.restart();
    tokio::time::sleep(phase * 2).await;
    let redis_back = Instant::now();
    let recovered_from_redis = {
        let t = tally.lock().await;
        t.last_success
            .iter()
            .all(|s| s.is_some_and(|s| s > redis_back - phase))
    };
    pg.kill();
    tokio::time::sleep(phase).await;
    pg.restart();
    tokio::time::sleep(phase * 2).await;
    let pg_back = Instant::now();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let t = tally.lock().await;
    eprintln!(
        "load: {} sign-ins succeeded; statuses {:?}; slowest failure {:?}",
        t.successes, t.statuses, t.slowest_failure
    );

    // Only success, a refused sign-in (a challenge lost with Redis) or 503: never a 500, never
    // a dropped connection.
    for status in t.statuses.keys() {
        assert!(
            [200, 401, 503].contains(status),
            "unexpected status {status}: {:?}",
            t.statuses
        );
    }
    assert!(
        redis_down_statuses.get(&503).copied().unwrap_or(0) > 0,
        "no 503 while Redis was down: {redis_down_statuses:?}"
    );
    assert!(
        t.slowest_failure < Duration::from_secs(10),
        "a failing request hung for {:?}",
        t.slowest_failure
    );
    assert!(
        recovered_from_redis,
        "no sign-in succeeded after Redis came back"
    );
    assert!(
        t.last_success
            .iter()
            .all(|s| s.is_some_and(|s| s > pg_back - phase)),
        "an instance did not recover after PostgreSQL came back"
    );
    for instance in instances.iter() {
        let log = instance.log();
        assert!(
            log.contains("a backend is unavailable") && log.contains("redis"),
            "no log line naming the unavailable backend:\n{log}"
        );
        let ready = Browser::new().get(instance, "/readyz").await;
        assert_eq!(ready.status, 200, "{:?}", ready.json);
    }

    // Nothing lost, nothing twice: one credential per account, and exactly one session per
    // counter advance (each sign-in's counter update and session are one transaction).
    let pool = sqlx::PgPool::connect(&pg.url()).await.unwrap();
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&pool).await.unwrap();
            n
        }
    };
    assert_eq!(count("SELECT COUNT(*) FROM users").await, WORKERS as i64);
    assert_eq!(
        count("SELECT COUNT(*) FROM credentials").await,
        WORKERS as i64
    );
    let uses = count("SELECT CAST(SUM(use_count) AS BIGINT) FROM credentials").await;
    let sessions = count("SELECT COUNT(*) FROM sessions").await;
    assert_eq!(
        sessions,
        uses + WORKERS as i64,
        "sessions must be the sign-ups plus one per counter advance"
    );
    // The audit trail holds exactly one sign-up per account and one sign-in per counter
    // advance: written in the same transactions, never lost or doubled by the outages.
    assert_eq!(
        count("SELECT COUNT(*) FROM audit_events WHERE event = 'sign_up' AND outcome = 'success'")
            .await,
        WORKERS as i64
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM audit_events WHERE event = 'sign_in' AND outcome = 'success'")
            .await,
        uses
    );
    assert_eq!(
        count("SELECT COUNT(DISTINCT seq) FROM audit_events").await,
        count("SELECT seq FROM audit_head").await,
        "audit sequence numbers have no gaps"
    );
    // Every success the clients saw is recorded; at most one in-flight commit per worker may
    // have been applied while its answer was lost with the connection.
    let recorded = u64::try_from(uses).unwrap();
    assert!(
        recorded >= t.successes && recorded <= t.successes + WORKERS as u64,
        "{recorded} sign-ins recorded, {} seen by clients",
        t.successes
    );
    pool.close().await;
}
