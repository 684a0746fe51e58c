//! The soak's per-minute report and its verdict: throughput, latency,
//! answers by status, and per service its resident memory, open file
//! descriptors and PostgreSQL connections (`pg_stat_activity` by
//! `application_name`, which the benchmark sets in each `DATABASE_URL`).

use std::collections::BTreeMap;
use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};

use super::traffic::{Op, Sample};
use crate::latency::quantile_ms;
use crate::procfs;
use crate::running::Service;

/// One service at the end of a minute.
#[derive(Debug, Clone)]
pub struct ServiceFigures {
    pub name: &'static str,
    pub rss_kib: Option<u64>,
    pub fds: Option<usize>,
    pub db_connections: Option<i64>,
}

/// One minute of the soak.
pub struct Minute {
    pub index: usize,
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Answers by route and status; `None` is no answer at all.
    pub answers: BTreeMap<(Op, Option<u16>), u64>,
    /// Requests the generator could not send (too many in flight).
    pub not_sent: u64,
    pub services: Vec<ServiceFigures>,
}

impl Minute {
    /// Sums up `samples` (the requests finished in this minute).
    pub fn new(
        index: usize,
        length: Duration,
        mut samples: Vec<Sample>,
        not_sent: u64,
        services: Vec<ServiceFigures>,
    ) -> Self {
        let mut answers = BTreeMap::new();
        for sample in &samples {
            *answers.entry((sample.op, sample.status)).or_insert(0) += 1;
        }
        samples.sort_by_key(|s| s.latency);
        let latencies: Vec<Duration> = samples.iter().map(|s| s.latency).collect();
        Self {
            index,
            rate: samples.len() as f64 / length.as_secs_f64(),
            p50_ms: quantile_ms(&latencies, 0.5),
            p99_ms: quantile_ms(&latencies, 0.99),
            answers,
            not_sent,
            services,
        }
    }

    /// Answers other than the intended one, as `GET /me 503×2, ...`.
    pub fn unintended(&self) -> Vec<String> {
        self.answers
            .iter()
            .filter(|((op, status), _)| *status != Some(op.intended()))
            .map(|((op, status), count)| match status {
                Some(status) => format!("{} {status}×{count}", op.route()),
                None => format!("{} no answer×{count}", op.route()),
            })
            .collect()
    }

    /// The table's header, for `services`.
    pub fn print_header(services: &[&Service]) {
        let mut header =
            "| minute | requests/s | p50 | p99 | unintended answers | not sent |".to_owned();
        let mut rule = "| --- | --- | --- | --- | --- | --- |".to_owned();
        for service in services {
            let name = service.binary.file_name();
            header.push_str(&format!(" {name} RSS | fds | db conns |"));
            rule.push_str(" --- | --- | --- |");
        }
        println!("{header}\n{rule}");
    }

    /// Prints this minute as a row of the table.
    pub fn print_row(&self) {
        let unintended = self.unintended();
        let mut row = format!(
            "| {} | {:.1} | {:.2} ms | {:.2} ms | {} | {} |",
            self.index,
            self.rate,
            self.p50_ms,
            self.p99_ms,
            if unintended.is_empty() {
                "none".to_owned()
            } else {
                unintended.join(", ")
            },
            self.not_sent
        );
        for service in &self.services {
            row.push_str(&format!(
                " {} | {} | {} |",
                procfs::mib(service.rss_kib),
                service.fds.map_or_else(|| "?".into(), |n| n.to_string()),
                service
                    .db_connections
                    .map_or_else(|| "?".into(), |n| n.to_string())
            ));
        }
        println!("{row}");
    }
}

/// Each service's memory, descriptors and database connections now.
pub async fn measure(services: &[&Service], admin_url: &str) -> Vec<ServiceFigures> {
    let url = admin_url.to_owned();
    let connections = tokio::task::spawn_blocking(move || connections_by_application(&url))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    services
        .iter()
        .map(|service| {
            let name = service.binary.file_name();
            ServiceFigures {
                name,
                rss_kib: procfs::rss_kib(service.pid()),
                fds: procfs::open_fds(service.pid()),
                db_connections: Some(
                    connections
                        .iter()
                        .find(|(application, _)| application == name)
                        .map_or(0, |(_, count)| *count),
                ),
            }
        })
        .collect()
}

#[derive(diesel::QueryableByName)]
struct Connections {
    #[diesel(sql_type = diesel::sql_types::Text)]
    application_name: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    connections: i64,
}

/// `pg_stat_activity`'s client connections, by `application_name`.
fn connections_by_application(admin_url: &str) -> Result<Vec<(String, i64)>, String> {
    let mut conn = PgConnection::establish(admin_url).map_err(|e| e.to_string())?;
    diesel::sql_query(
        "SELECT application_name, count(*) AS connections FROM pg_stat_activity \
         WHERE backend_type = 'client backend' GROUP BY application_name",
    )
    .load::<Connections>(&mut conn)
    .map(|rows| {
        rows.into_iter()
            .map(|row| (row.application_name, row.connections))
            .collect()
    })
    .map_err(|e| e.to_string())
}

/// Compares the first and the last minute and lists every unintended
/// answer; `Err` when anything grew beyond noise or went wrong.
pub fn verdict(minutes: &[Minute]) -> Result<(), String> {
    println!("\n## Verdict (first minute against the last)\n");
    let mut problems = Vec::new();
    let unintended: Vec<String> = minutes.iter().flat_map(Minute::unintended).collect();
    let not_sent: u64 = minutes.iter().map(|m| m.not_sent).sum();
    if unintended.is_empty() {
        println!("- answers: only the intended ones (201 for sign-ups, 200 for the rest)");
    } else {
        println!(
            "- answers other than the intended: {}",
            unintended.join(", ")
        );
        problems.push("unintended answers".to_owned());
    }
    if not_sent > 0 {
        println!("- the generator could not send {not_sent} requests (too many in flight)");
        problems.push("requests not sent".to_owned());
    }
    let (Some(first), Some(last)) = (minutes.first(), minutes.last()) else {
        return Err("no minute was measured".into());
    };
    if minutes.len() < 2 {
        println!("- one minute only: nothing to compare (SOAK_MINUTES ≥ 2 to compare)");
    } else {
        let mut check = |what: String, from: f64, to: f64, moved: bool, rule: &str| {
            let word = if moved { "BEYOND NOISE" } else { "steady" };
            println!("- {what}: {from:.1} → {to:.1}: {word} (noise ends at {rule})");
            if moved {
                problems.push(what);
            }
        };
        check(
            "p99 (ms)".into(),
            first.p99_ms,
            last.p99_ms,
            last.p99_ms > 2.0 * first.p99_ms && last.p99_ms - first.p99_ms > 2.0,
            "×2 and +2 ms",
        );
        check(
            "throughput (requests/s)".into(),
            first.rate,
            last.rate,
            last.rate < 0.95 * first.rate,
            "-5%",
        );
        for (a, b) in first.services.iter().zip(&last.services) {
            let mib = |kib: Option<u64>| kib.unwrap_or(0) as f64 / 1024.0;
            let count = |n: Option<usize>| n.unwrap_or(0) as f64;
            let connections = |n: Option<i64>| n.unwrap_or(0) as f64;
            // (what, first, last, growth allowed as a share of the first,
            // and at least, with its unit)
            let bounds = [
                (
                    "RSS (MiB)",
                    mib(a.rss_kib),
                    mib(b.rss_kib),
                    0.10,
                    4.0,
                    " MiB",
                ),
                ("open fds", count(a.fds), count(b.fds), 0.25, 20.0, ""),
                (
                    "database connections",
                    connections(a.db_connections),
                    connections(b.db_connections),
                    0.5,
                    2.0,
                    "",
                ),
            ];
            for (what, from, to, share, floor, unit) in bounds {
                check(
                    format!("{} {what}", a.name),
                    from,
                    to,
                    to - from > (share * from).max(floor),
                    &format!("+{:.0}% and +{floor}{unit}", share * 100.0),
                );
            }
        }
    }
    if problems.is_empty() {
        println!("\nsoak passed");
        Ok(())
    } else {
        Err(format!("soak failed: {}", problems.join(", ")))
    }
}
