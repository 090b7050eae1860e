//! `passkeyd-load`: HTTP load generator for `passkeyd serve` (loopback only).
//!
//! ```text
//! passkeyd-load --url http://localhost:PORT [--url http://localhost:PORT2 ...]
//!               --users N --concurrency C --seconds T
//!               [--origin URL] [--alg es256|ed25519|rs256|...] [--json]
//! ```
//!
//! With several `--url`s (instances sharing PostgreSQL and Redis) every ceremony starts on one
//! instance and finishes on the next, round-robin, as behind a load balancer without sticky
//! sessions.
//!
//! Signs up N users over the API (each with its own `SoftAuthenticator` and its own cookie jar),
//! then runs C workers doing complete discoverable sign-in ceremonies (`auth/start` with `{}`,
//! sign with the user's authenticator, `auth/finish` with `challengeKey`) for T seconds. Worker
//! `w` owns users `w, w + C, w + 2C, ...` and round-robins over them, so no user is signed in by
//! two workers at once (the signature counter must increase). One pooled HTTP client (keep-alive
//! connections) serves every worker; cookies are kept per user, as a browser would.
//!
//! Prints ceremonies per second, errors, and p50/p99 latency of `auth/start`, `auth/finish` and
//! the whole ceremony (including the client-side signature), as a table or (`--json`) one JSON
//! object. Every loop stops by itself after T seconds (requests time out after 10 s).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use passkeyd_testkit::{Alg, AssertParams, RegisterParams, SoftAuthenticator, b64url_decode};
use reqwest::header::{COOKIE, HeaderMap, ORIGIN, SET_COOKIE};
use reqwest::{Client, Url};
use serde_json::{Value, json};

const USAGE: &str = "usage: passkeyd-load --url http://localhost:PORT [--url ...] [--users N] [--concurrency C] \
[--seconds T] [--origin URL] [--alg es256|es384|es512|ed25519|ed448|rs256|ps256] [--json]\n\
Only loopback URLs (localhost, 127.0.0.0/8, ::1) are accepted.";

struct Args {
    urls: Vec<Url>,
    users: usize,
    concurrency: usize,
    seconds: f64,
    origin: Option<String>,
    alg: Alg,
    alg_name: String,
    json: bool,
}

fn parse_alg(s: &str) -> Option<Alg> {
    Some(match s.to_ascii_lowercase().as_str() {
        "es256" => Alg::Es256,
        "es384" => Alg::Es384,
        "es512" => Alg::Es512,
        "ed25519" | "eddsa" => Alg::Ed25519,
        "ed448" => Alg::Ed448,
        "rs256" => Alg::Rs256,
        "rs384" => Alg::Rs384,
        "rs512" => Alg::Rs512,
        "ps256" => Alg::Ps256,
        "ps384" => Alg::Ps384,
        _ => return None,
    })
}

/// Whether `url`'s host is loopback: `localhost`, 127.0.0.0/8 or `::1`.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(a)) => IpAddr::V4(a).is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        None => false,
    }
}

fn parse_args() -> Result<Args, String> {
    let mut url_texts = Vec::new();
    let mut users = 256usize;
    let mut concurrency = 32usize;
    let mut seconds = 10f64;
    let mut origin = None;
    let mut alg_name = "es256".to_owned();
    let mut json = false;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let (key, inline) = match a.split_once('=') {
            Some((k, v)) if k.starts_with("--") => (k.to_owned(), Some(v.to_owned())),
            _ => (a.clone(), None),
        };
        let mut val = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match key.as_str() {
            "--url" => url_texts.push(val("--url")?),
            "--users" => {
                users = val("--users")?
                    .parse()
                    .map_err(|e| format!("--users: {e}"))?
            }
            "--concurrency" | "-c" => {
                concurrency = val("--concurrency")?
                    .parse()
                    .map_err(|e| format!("--concurrency: {e}"))?
            }
            "--seconds" | "-t" => {
                seconds = val("--seconds")?
                    .parse()
                    .map_err(|e| format!("--seconds: {e}"))?
            }
            "--origin" => origin = Some(val("--origin")?),
            "--alg" => alg_name = val("--alg")?,
            "--json" => json = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if url_texts.is_empty() {
        return Err("--url is required".into());
    }
    let mut urls = Vec::new();
    for text in url_texts {
        let url = Url::parse(&text).map_err(|e| format!("--url {text:?}: {e}"))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(format!("--url {url}: only http(s) URLs"));
        }
        if !is_loopback(&url) {
            return Err(format!(
                "--url {url}: refusing a non-loopback host (only localhost, 127.0.0.0/8, ::1)"
            ));
        }
        urls.push(url);
    }
    if users == 0 || concurrency == 0 {
        return Err("--users and --concurrency must be at least 1".into());
    }
    if users < concurrency {
        return Err(format!(
            "--users {users} < --concurrency {concurrency}: each worker needs its own users \
             (the server refuses a signature counter that does not increase)"
        ));
    }
    if !(seconds > 0.0 && seconds <= 3600.0) {
        return Err("--seconds must be in (0, 3600]".into());
    }
    let alg = parse_alg(&alg_name).ok_or_else(|| format!("unknown --alg {alg_name:?}"))?;
    Ok(Args {
        urls,
        users,
        concurrency,
        seconds,
        origin,
        alg,
        alg_name: alg_name.to_ascii_lowercase(),
        json,
    })
}

/// A signed-up user: its authenticator and its cookie jar (name -> value; every request of the
/// load generator is under `/api/webauthn`, inside both cookies' paths).
struct User {
    auth: SoftAuthenticator,
    jar: Jar,
    /// Which instance the next ceremony starts on (it finishes on the next one).
    uses: usize,
}

/// A cookie jar: name -> value.
#[derive(Default)]
struct Jar {
    cookies: BTreeMap<String, String>,
}

impl Jar {
    fn cookie_header(&self) -> Option<String> {
        if self.cookies.is_empty() {
            return None;
        }
        let mut s = String::new();
        for (k, v) in &self.cookies {
            if !s.is_empty() {
                s.push_str("; ");
            }
            s.push_str(k);
            s.push('=');
            s.push_str(v);
        }
        Some(s)
    }

    fn store_cookies(&mut self, headers: &HeaderMap) {
        for h in headers.get_all(SET_COOKIE) {
            let Ok(h) = h.to_str() else { continue };
            let mut parts = h.split(';');
            let Some((name, value)) = parts.next().and_then(|nv| nv.split_once('=')) else {
                continue;
            };
            let expired = parts.any(|p| {
                let p = p.trim();
                p.eq_ignore_ascii_case("max-age=0")
                    || p.to_ascii_lowercase()
                        .starts_with("expires=thu, 01 jan 1970")
            });
            let (name, value) = (name.trim(), value.trim());
            if expired || value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }
}

/// Shared request context.
struct Ctx {
    http: Client,
    /// One base URL per instance.
    bases: Vec<String>,
    origin: String,
}

impl Ctx {
    /// POSTs `body` with the user's cookies and the `Origin` header; returns status and body.
    /// `at` picks the instance (modulo their number).
    async fn post(
        &self,
        at: usize,
        jar: &mut Jar,
        path: &str,
        body: &Value,
    ) -> Result<(u16, Value), String> {
        let base = &self.bases[at % self.bases.len()];
        let mut req = self
            .http
            .post(format!("{base}{path}"))
            .header(ORIGIN, &self.origin)
            .json(body);
        if let Some(c) = jar.cookie_header() {
            req = req.header(COOKIE, c);
        }
        let resp = req.send().await.map_err(|e| {
            if e.is_timeout() {
                "timeout".to_owned()
            } else {
                "transport".to_owned()
            }
        })?;
        let status = resp.status().as_u16();
        jar.store_cookies(resp.headers());
        let bytes = resp.bytes().await.map_err(|_| "transport".to_owned())?;
        let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok((status, v))
    }
}

fn challenge_of(options: &Value) -> Option<Vec<u8>> {
    b64url_decode(options["challenge"].as_str()?)
}

/// Signs up one user; returns it signed in (its cookie jar holds the session).
async fn sign_up(ctx: &Ctx, at: usize, alg: Alg, name: &str) -> Result<User, String> {
    let mut jar = Jar::default();
    let (st, o) = ctx
        .post(
            at,
            &mut jar,
            "/api/webauthn/register/start",
            &json!({"username": name, "displayName": name}),
        )
        .await?;
    if st != 200 {
        return Err(format!("register/start {name}: {st} {o}"));
    }
    let handle = o["user"]["id"]
        .as_str()
        .and_then(b64url_decode)
        .ok_or("register/start: no user.id")?;
    let rp_id = o["rp"]["id"].as_str().ok_or("register/start: no rp.id")?;
    let challenge = challenge_of(&o).ok_or("register/start: no challenge")?;
    let mut auth = SoftAuthenticator::new(alg).with_user_handle(handle);
    let reg = auth.register(&RegisterParams::new(challenge, rp_id, &ctx.origin));
    let (st, r) = ctx
        .post(at + 1, &mut jar, "/api/webauthn/register/finish", &reg.json)
        .await?;
    if st != 200 {
        return Err(format!("register/finish {name}: {st} {r}"));
    }
    Ok(User {
        auth,
        jar,
        uses: at,
    })
}

/// Latency samples (microseconds) and error counts of one worker.
#[derive(Default)]
struct Stats {
    start_us: Vec<u32>,
    finish_us: Vec<u32>,
    ceremony_us: Vec<u32>,
    ok: u64,
    errors: BTreeMap<String, u64>,
}

impl Stats {
    fn error(&mut self, what: String) {
        *self.errors.entry(what).or_default() += 1;
    }
    fn merge(&mut self, o: Stats) {
        self.start_us.extend(o.start_us);
        self.finish_us.extend(o.finish_us);
        self.ceremony_us.extend(o.ceremony_us);
        self.ok += o.ok;
        for (k, v) in o.errors {
            *self.errors.entry(k).or_default() += v;
        }
    }
}

fn micros(d: Duration) -> u32 {
    d.as_micros().min(u32::MAX as u128) as u32
}

/// One complete discoverable sign-in; records latencies into `stats`.
async fn ceremony(ctx: &Ctx, user: &mut User, stats: &mut Stats) {
    let at = user.uses;
    user.uses = user.uses.wrapping_add(1);
    let t0 = Instant::now();
    let (st, start) = match ctx
        .post(at, &mut user.jar, "/api/webauthn/auth/start", &json!({}))
        .await
    {
        Ok(r) => r,
        Err(e) => return stats.error(format!("auth/start {e}")),
    };
    let t1 = Instant::now();
    stats.start_us.push(micros(t1 - t0));
    if st != 200 {
        return stats.error(format!("auth/start {st}"));
    }
    let (Some(challenge), Some(rp_id), Some(key)) = (
        challenge_of(&start["options"]),
        start["options"]["rpId"].as_str(),
        start.get("challengeKey").cloned(),
    ) else {
        return stats.error("auth/start malformed".into());
    };
    let mut body = user
        .auth
        .assert(&AssertParams::new(challenge, rp_id, &ctx.origin))
        .json;
    body["challengeKey"] = key;
    let t2 = Instant::now();
    let r = ctx
        .post(at + 1, &mut user.jar, "/api/webauthn/auth/finish", &body)
        .await;
    let t3 = Instant::now();
    match r {
        Ok((200, _)) => {
            stats.finish_us.push(micros(t3 - t2));
            stats.ceremony_us.push(micros(t3 - t0));
            stats.ok += 1;
        }
        Ok((st, _)) => {
            stats.finish_us.push(micros(t3 - t2));
            stats.error(format!("auth/finish {st}"));
        }
        Err(e) => stats.error(format!("auth/finish {e}")),
    }
}

async fn worker(ctx: std::sync::Arc<Ctx>, mut users: Vec<User>, deadline: Instant) -> Stats {
    let mut stats = Stats {
        start_us: Vec::with_capacity(1 << 14),
        finish_us: Vec::with_capacity(1 << 14),
        ceremony_us: Vec::with_capacity(1 << 14),
        ..Stats::default()
    };
    let n = users.len();
    let mut i = 0;
    while Instant::now() < deadline {
        ceremony(&ctx, &mut users[i], &mut stats).await;
        i = (i + 1) % n;
    }
    stats
}

struct Summary {
    count: usize,
    p50: f64,
    p99: f64,
    max: f64,
}

/// Percentiles (nearest rank) in milliseconds.
fn summarize(v: &mut [u32]) -> Summary {
    v.sort_unstable();
    let at = |q: f64| -> f64 {
        if v.is_empty() {
            return f64::NAN;
        }
        let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
        v[rank - 1] as f64 / 1000.0
    };
    Summary {
        count: v.len(),
        p50: at(0.50),
        p99: at(0.99),
        max: v.last().map_or(f64::NAN, |&m| m as f64 / 1000.0),
    }
}

fn summary_json(s: &Summary) -> Value {
    let n = |x: f64| if x.is_finite() { json!(x) } else { Value::Null };
    json!({"count": s.count, "p50_ms": n(s.p50), "p99_ms": n(s.p99), "max_ms": n(s.max)})
}

async fn run(args: Args) -> Result<(), String> {
    let bases: Vec<String> = args
        .urls
        .iter()
        .map(|u| u.as_str().trim_end_matches('/').to_owned())
        .collect();
    let origin = match &args.origin {
        Some(o) => o.trim_end_matches('/').to_owned(),
        None => format!(
            "http://localhost:{}",
            args.urls[0].port_or_known_default().unwrap_or(80)
        ),
    };
    let http = Client::builder()
        .pool_max_idle_per_host(args.concurrency.max(args.users.min(64)))
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let ctx = std::sync::Arc::new(Ctx {
        http,
        bases,
        origin,
    });

    // Sign-up, C at a time. Usernames carry a per-run tag so repeated runs against one server
    // do not collide.
    let tag = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis()
            & 0xff_ffff
    );
    let t_signup = Instant::now();
    let mut users: Vec<Option<User>> = (0..args.users).map(|_| None).collect();
    let mut next = 0usize;
    let mut signup_errors = 0u64;
    while next < args.users {
        let end = (next + args.concurrency).min(args.users);
        let mut set = tokio::task::JoinSet::new();
        for i in next..end {
            let ctx = ctx.clone();
            let name = format!("load-{tag}-{i}");
            let alg = args.alg;
            set.spawn(async move {
                // A sign-up the server fails (e.g. a 500 when SQLite stays locked) is retried
                // twice under a new name, and counted.
                let mut failures = Vec::new();
                for attempt in 0..3 {
                    match sign_up(&ctx, i, alg, &format!("{name}-{attempt}")).await {
                        Ok(u) => return (i, Ok(u), failures),
                        Err(e) => failures.push(e),
                    }
                }
                let last = failures.last().cloned().unwrap_or_default();
                (i, Err(last), failures)
            });
        }
        while let Some(r) = set.join_next().await {
            let (i, u, failures) = r.map_err(|e| format!("sign-up task: {e}"))?;
            for f in failures {
                eprintln!("passkeyd-load: sign-up failed: {f}");
                signup_errors += 1;
            }
            users[i] = Some(u?);
        }
        next = end;
    }
    let signup_s = t_signup.elapsed().as_secs_f64();

    // Give worker w the users w, w + C, w + 2C, ...
    let mut slices: Vec<Vec<User>> = (0..args.concurrency).map(|_| Vec::new()).collect();
    for (i, u) in users.into_iter().enumerate() {
        slices[i % args.concurrency].push(u.expect("every user signed up"));
    }
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs_f64(args.seconds);
    let mut set = tokio::task::JoinSet::new();
    for slice in slices {
        set.spawn(worker(ctx.clone(), slice, deadline));
    }
    let mut stats = Stats::default();
    while let Some(r) = set.join_next().await {
        stats.merge(r.map_err(|e| format!("worker: {e}"))?);
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let errors: u64 = stats.errors.values().sum();
    let rate = stats.ok as f64 / elapsed;
    let start = summarize(&mut stats.start_us);
    let finish = summarize(&mut stats.finish_us);
    let cer = summarize(&mut stats.ceremony_us);

    if args.json {
        let out = json!({
            "urls": ctx.bases,
            "origin": ctx.origin,
            "alg": args.alg_name,
            "users": args.users,
            "concurrency": args.concurrency,
            "seconds": args.seconds,
            "signup_seconds": signup_s,
            "signup_errors": signup_errors,
            "elapsed_seconds": elapsed,
            "ceremonies": stats.ok,
            "ceremonies_per_second": rate,
            "errors": errors,
            "error_kinds": stats.errors,
            "latency": {
                "auth_start": summary_json(&start),
                "auth_finish": summary_json(&finish),
                "ceremony": summary_json(&cer),
            },
        });
        println!("{out}");
    } else {
        println!(
            "passkeyd-load {} alg {} users {} concurrency {} for {:.1} s (sign-up of {} users took {:.2} s, {} failed attempts)",
            ctx.bases.join(" + "),
            args.alg_name,
            args.users,
            args.concurrency,
            elapsed,
            args.users,
            signup_s,
            signup_errors
        );
        println!(
            "ceremonies {}  ceremonies/s {:.0}  errors {}",
            stats.ok, rate, errors
        );
        for (k, v) in &stats.errors {
            println!("  error {k}: {v}");
        }
        println!(
            "{:<12} {:>9} {:>9} {:>9} {:>9}",
            "latency", "count", "p50 ms", "p99 ms", "max ms"
        );
        for (name, s) in [
            ("auth/start", &start),
            ("auth/finish", &finish),
            ("ceremony", &cer),
        ] {
            println!(
                "{:<12} {:>9} {:>9.3} {:>9.3} {:>9.3}",
                name, s.count, s.p50, s.p99, s.max
            );
        }
    }
    if stats.ok == 0 {
        return Err("no ceremony succeeded".into());
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("passkeyd-load: {e}");
            }
            eprintln!("{USAGE}");
            return if e.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    // One thread: the load generator is meant to be pinned to one core (`taskset -c 1`).
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("passkeyd-load: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("passkeyd-load: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_urls() {
        for ok in [
            "http://localhost:8080",
            "http://LOCALHOST:1",
            "http://127.0.0.1:80",
            "http://127.9.8.7:80",
            "http://[::1]:8080",
        ] {
            assert!(is_loopback(&Url::parse(ok).unwrap()), "{ok}");
        }
        for bad in [
            "http://example.com",
            "http://10.0.0.1:80",
            "http://128.0.0.1",
            "http://[::2]:80",
            "http://localhost.example.com",
            "http://0.0.0.0:80",
        ] {
            assert!(!is_loopback(&Url::parse(bad).unwrap()), "{bad}");
        }
    }

    #[test]
    fn percentiles() {
        let mut v: Vec<u32> = (1..=100).map(|x| x * 1000).collect();
        let s = summarize(&mut v);
        assert_eq!((s.p50, s.p99, s.max), (50.0, 99.0, 100.0));
    }
}
