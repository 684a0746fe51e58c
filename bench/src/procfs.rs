//! What Linux says about a process: resident memory and open files, read
//! from `/proc/<pid>/`.

/// A `kB` field of `/proc/<pid>/status` (`VmRSS`, `VmHWM`), in KiB.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status
        .lines()
        .find(|l| l.split(':').next() == Some(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resident memory now (`VmRSS`), in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS")
}

/// The most resident memory the process ever had (`VmHWM`), in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmHWM")
}

/// Open file descriptors (sockets included): entries of `/proc/<pid>/fd`.
pub fn open_fds(pid: u32) -> Option<usize> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()
        .map(|entries| entries.count())
}

/// `kib` as MiB with one decimal, or `?` when unknown.
pub fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(
        || "?".to_owned(),
        |k| format!("{:.1} MiB", k as f64 / 1024.0),
    )
}

/// Busy and total CPU time of the whole machine so far (`/proc/stat`).
fn cpu_times() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = fields.iter().take(8).sum();
    // idle and iowait are not work.
    let idle = fields.get(3)? + fields.get(4)?;
    Some((total - idle, total))
}

/// How busy the machine is over `window` while this benchmark runs
/// nothing: the share of all cores other work uses (0.0 to 1.0).
pub async fn others_busy(window: std::time::Duration) -> Option<f64> {
    let (busy_before, total_before) = cpu_times()?;
    tokio::time::sleep(window).await;
    let (busy_after, total_after) = cpu_times()?;
    let total = total_after.checked_sub(total_before)?;
    (total > 0).then(|| busy_after.saturating_sub(busy_before) as f64 / total as f64)
}

/// What other work used of the machine just before and just after a
/// measurement, with a warning past a fifth of it.
pub fn describe_others(before: Option<f64>, after: Option<f64>) -> Option<String> {
    let (before, after) = (before?, after?);
    let warning = if before.max(after) > 0.2 {
        ": WARNING, the figures above are noise; run again on a quiet machine"
    } else {
        ""
    };
    Some(format!(
        "other work on the machine: {:.0}% of the CPU in the second before, {:.0}% in the \
         second after{warning}",
        before * 100.0,
        after * 100.0
    ))
}
