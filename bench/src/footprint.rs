//! Start-up and footprint per binary: file size, spawn → `/readyz` 200,
//! resident memory idle (`VmRSS` right after ready) and under load (the
//! kernel's high-water mark `VmHWM` once the load phase is over).

use std::time::Duration;

use super::procfs;
use super::running::{Binary, Service};
use super::services::Testbed;

/// What was seen of one binary.
struct Row {
    binary: Binary,
    startups: Vec<(String, Duration)>,
    idle_kib: Option<u64>,
    loaded: Vec<(u64, String)>,
}

/// The figures of every binary, printed as a table at the end.
#[derive(Default)]
pub struct Footprint {
    rows: Vec<Row>,
}

impl Footprint {
    fn row(&mut self, binary: Binary) -> &mut Row {
        if let Some(index) = self.rows.iter().position(|r| r.binary == binary) {
            return &mut self.rows[index];
        }
        self.rows.push(Row {
            binary,
            startups: Vec::new(),
            idle_kib: None,
            loaded: Vec::new(),
        });
        let last = self.rows.len() - 1;
        &mut self.rows[last]
    }

    /// Notes `service`'s start-up time, as `how` (`restart`, ...).
    pub fn started(&mut self, service: &Service, how: &str) {
        self.row(service.binary)
            .startups
            .push((how.to_owned(), service.startup));
    }

    /// Notes `service`'s resident memory now, as its idle figure (the
    /// first one noted counts).
    pub fn idle(&mut self, service: &Service) {
        let rss = procfs::rss_kib(service.pid());
        let row = self.row(service.binary);
        row.idle_kib = row.idle_kib.or(rss);
    }

    /// Notes `service`'s peak resident memory, after `load`.
    pub fn loaded(&mut self, service: &Service, load: &str) {
        if let Some(peak) = procfs::peak_rss_kib(service.pid()) {
            self.row(service.binary)
                .loaded
                .push((peak, load.to_owned()));
        }
    }

    /// Prints the table.
    pub fn print(&self, testbed: &Testbed) {
        println!("\n## Start-up and footprint\n");
        println!(
            "| binary | file size | start-up to ready (spawn → `/readyz` 200) | idle RSS | peak RSS under load |"
        );
        println!("| --- | --- | --- | --- | --- |");
        for row in &self.rows {
            let name = row.binary.file_name();
            let size = std::fs::metadata(testbed.bin_dir.join(name))
                .map(|m| format!("{:.1} MiB", m.len() as f64 / 1024.0 / 1024.0))
                .unwrap_or_else(|_| "?".into());
            let startups = row
                .startups
                .iter()
                .map(|(how, took)| format!("{:.0} ms ({how})", took.as_secs_f64() * 1000.0))
                .collect::<Vec<_>>()
                .join(", ");
            let loaded = row
                .loaded
                .iter()
                .map(|(kib, load)| format!("{} ({load})", procfs::mib(Some(*kib))))
                .collect::<Vec<_>>()
                .join(", ");
            println!(
                "| {name} | {size} | {startups} | {} | {loaded} |",
                procfs::mib(row.idle_kib)
            );
        }
        println!(
            "\nThe services' start-up includes waiting for PostgreSQL and running migrations \
             (none to run after the first start); the ceiling has no database."
        );
    }
}
