//! `bench keys`: what the signing algorithm costs. First in this process,
//! `shared`'s own codec: microseconds to verify (and to sign) one access
//! token with HS256, ES256 and EdDSA. Then through HTTP, one algorithm at
//! a time: the `ceiling` binary and profile-service (cache on) given the
//! algorithm's verifying key, each loaded alone by `wrk` with a token of
//! that algorithm, so the `GET /me` figure is read against the ceiling of
//! the same run.

use std::hint::black_box;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use shared::claims::{AccessClaims, TokenType};
use shared::keys::{KeySet, Purpose, SigningKind, generate_signing_set};
use shared::token::{TokenCodec, TokenSettings};
use uuid::Uuid;

use super::ceiling::{Settings, profile_env};
use super::running::Binary;
use super::services::Testbed;
use super::wrk::WrkRun;
use super::{env_number, procfs};

/// One algorithm's keys: the codec that signs and the variables that make
/// a verifier of it.
struct Case {
    name: &'static str,
    signer: TokenCodec,
    verifier: TokenCodec,
    /// What the services are given beside `JWT_SECRET_KEY`.
    env: Vec<(&'static str, String)>,
}

fn settings() -> TokenSettings {
    TokenSettings {
        issuer: "auth-service".into(),
        audience: "profile-service".into(),
        leeway_seconds: 30,
    }
}

fn cases(access_secret: &str) -> Result<Vec<Case>, String> {
    let secret = SecretString::from(access_secret.to_owned());
    let hs = KeySet::new(None, Some(&secret)).map_err(|e| e.to_string())?;
    let mut cases = vec![Case {
        name: "HS256",
        signer: TokenCodec::new(hs.clone(), &settings()),
        verifier: TokenCodec::new(hs, &settings()),
        env: Vec::new(),
    }];
    for (name, kind) in [("ES256", SigningKind::Es256), ("EdDSA", SigningKind::EdDsa)] {
        let keys = generate_signing_set(kind);
        let private = SecretString::from(keys.private_set.expose_secret().to_owned());
        let public = SecretString::from(keys.public_set.clone());
        let signer = KeySet::new(Some(&private), None).map_err(|e| e.to_string())?;
        let verifier = KeySet::for_purpose(Some(&public), None, Purpose::VerifyAccess)
            .map_err(|e| e.to_string())?;
        cases.push(Case {
            name,
            signer: TokenCodec::new(signer, &settings()),
            verifier: TokenCodec::new(verifier, &settings()),
            env: vec![("JWT_KEYS", keys.public_set)],
        });
    }
    Ok(cases)
}

fn claims() -> AccessClaims {
    let now = chrono::Utc::now().timestamp();
    AccessClaims {
        sub: Uuid::new_v4(),
        email: "bench-keys@example.com".into(),
        email_verified: true,
        iat: now,
        // Outlives any run.
        exp: now + 24 * 3600,
        iss: "auth-service".into(),
        aud: "profile-service".into(),
        jti: Uuid::new_v4(),
        sid: Uuid::new_v4(),
        typ: TokenType::Access,
        amr: Vec::new(),
        mfa: false,
    }
}

/// The median over `batches` of the microseconds one `op` takes, each
/// batch running for about `batch`.
fn micros_per_op(batches: usize, batch: Duration, mut op: impl FnMut()) -> f64 {
    let mut samples = Vec::with_capacity(batches);
    for _ in 0..batches {
        let started = Instant::now();
        let mut done = 0u64;
        while started.elapsed() < batch {
            for _ in 0..64 {
                op();
            }
            done += 64;
        }
        samples.push(started.elapsed().as_secs_f64() * 1e6 / done as f64);
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// One row of the table.
struct Row {
    name: &'static str,
    verify_us: f64,
    sign_us: f64,
    ceiling: f64,
    me: f64,
    me_p99_ms: f64,
}

/// Runs both parts and prints the table.
pub async fn run() -> Result<(), String> {
    let settings = Settings::from_env();
    super::wrk::check_installed()?;
    let testbed = Testbed::prepare().await?;
    println!(
        "# auth-stack benchmark: signing algorithms ({} cores)\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    testbed.describe();
    let batches = env_number("BENCH_KEYS_BATCHES", 5).max(1);
    println!(
        "- verify / sign: `shared::token::TokenCodec::decode` / `encode` of one access token \
         in this process (one thread), median of {batches} batches of about 1 s; the verifier \
         holds the public key only (HS256: the secret)"
    );
    println!(
        "- HTTP: per algorithm, the `ceiling` binary, then profile-service with the cache on, \
         each alone, given JWT_KEYS = the public key set, loaded by `wrk -t1 -c{} -d{}s` after \
         a {:.0} s warm-up with one token of that algorithm",
        settings.connections,
        settings.seconds.as_secs(),
        settings.warmup.as_secs_f64()
    );
    let busy_before = procfs::others_busy(Duration::from_secs(1)).await;
    let mut rows = Vec::new();
    for case in cases(&testbed.access_secret)? {
        let claims = claims();
        let token = case.signer.encode(&claims).map_err(|e| e.to_string())?;
        let check = case.verifier.decode::<AccessClaims>(&token);
        if check.as_ref().ok() != Some(&claims) {
            return Err(format!(
                "{}: the verifier refuses its token: {check:?}",
                case.name
            ));
        }
        let verify_us = micros_per_op(batches, Duration::from_secs(1), || {
            let _ = black_box(case.verifier.decode::<AccessClaims>(black_box(&token)));
        });
        let sign_us = micros_per_op(batches, Duration::from_secs(1), || {
            let _ = black_box(case.signer.encode(black_box(&claims)));
        });
        let measure = WrkRun {
            url: String::new(),
            bearer: token.clone(),
            connections: settings.connections,
            duration: settings.seconds,
        };
        let mut rates = Vec::new();
        for (binary, mut env) in [
            (Binary::Ceiling, Vec::new()),
            (Binary::Profile, profile_env(&settings, true)),
        ] {
            env.extend(case.env.iter().cloned());
            let server = testbed.start(binary, &env).await?;
            let url = format!("{}/me", server.url);
            if settings.warmup >= Duration::from_secs(1) {
                WrkRun {
                    url: url.clone(),
                    duration: settings.warmup,
                    ..measure.clone()
                }
                .run()
                .await?;
            }
            let report = WrkRun {
                url,
                ..measure.clone()
            }
            .run()
            .await?;
            server.stop();
            rates.push(report);
        }
        rows.push(Row {
            name: case.name,
            verify_us,
            sign_us,
            ceiling: rates[0].requests_per_sec,
            me: rates[1].requests_per_sec,
            me_p99_ms: rates[1].p99_ms,
        });
    }
    print_table(&rows);
    let busy_after = procfs::others_busy(Duration::from_secs(1)).await;
    if let Some(others) = procfs::describe_others(busy_before, busy_after) {
        println!("- {others}");
    }
    testbed.finish();
    Ok(())
}

fn print_table(rows: &[Row]) {
    let hs = rows.first().map_or(f64::NAN, |row| row.me);
    println!(
        "\n| alg | verify µs/token | sign µs/token | ceiling requests/s | GET /me requests/s (cache on) | /me p99 | /me × ceiling | /me × HS256's |\n| --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for row in rows {
        println!(
            "| {} | {:.1} | {:.1} | {:.0} | {:.0} | {:.2} ms | {:.2} | {:.2} |",
            row.name,
            row.verify_us,
            row.sign_us,
            row.ceiling,
            row.me,
            row.me_p99_ms,
            row.me / row.ceiling,
            row.me / hs
        );
    }
}
