//! A test whose outside tool is missing skips with one visible line on a
//! developer's machine, and fails under CI. Proved on this very test
//! binary, run again with a PATH that holds no program at all and no
//! Python for the SMTP sink.

use std::ffi::OsStr;
use std::process::Command;

use crate::support::tools::{PROMETHEUS, PROMTOOL, Verdict, on_path};

/// This test binary, running only the tests `filters` pick, with nothing
/// on PATH and no Python for the SMTP sink.
fn without_tools(filters: &[&str], ci: Option<&str>) -> (bool, String, String) {
    let empty = std::env::temp_dir().join(format!("no-tools-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&empty).unwrap();
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(filters)
        .arg("--test-threads=2")
        .env("PATH", &empty)
        .env("SMTP_SINK_PYTHON", empty.join("python3"))
        .env_remove("CI");
    if let Some(ci) = ci {
        command.env("CI", ci);
    }
    let output = command.output().unwrap();
    let _ = std::fs::remove_dir_all(&empty);
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_missing_tool_skips_with_one_line_per_test_outside_ci() {
    let (passed, stdout, stderr) = without_tools(&["metrics::"], None);
    assert!(passed, "{stdout}{stderr}");
    let mut skipped: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("SKIPPED "))
        .collect();
    skipped.sort_unstable();
    assert_eq!(
        skipped,
        [
            "SKIPPED metrics::a_real_prometheus_scrapes_both_services_and_reads_the_figures_back: prometheus is not installed (apt-get install prometheus)",
            "SKIPPED metrics::metrics_are_served_on_their_own_port_with_route_templates: promtool is not installed (apt-get install prometheus)",
        ],
        "{stderr}"
    );
}

#[test]
fn a_missing_tool_fails_the_test_under_ci() {
    let (passed, stdout, stderr) = without_tools(&["metrics::"], Some("true"));
    assert!(!passed, "{stdout}{stderr}");
    let output = format!("{stdout}{stderr}");
    assert!(!output.contains("SKIPPED"), "{output}");
    assert!(
        output.contains("prometheus is not installed (apt-get install prometheus); under CI"),
        "{output}"
    );
    assert!(output.contains("2 failed"), "{output}");
}

#[test]
fn the_mail_tests_skip_without_aiosmtpd() {
    // The mail tests that start the sink (the module's others need none).
    let filters = [
        "mail_verify::signup_mails",
        "mail_verify::required_verification",
        "mail_verify::resend_mails",
        "mail_verify::bad_verification",
    ];
    let (passed, stdout, stderr) = without_tools(&filters, None);
    assert!(passed, "{stdout}{stderr}");
    let skipped: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("SKIPPED mail_verify::"))
        .collect();
    assert_eq!(skipped.len(), filters.len(), "{stdout}{stderr}");
    for line in skipped {
        assert!(
            line.ends_with(": aiosmtpd is not installed (apt-get install python3-aiosmtpd)"),
            "{line}"
        );
    }
}

#[test]
fn ci_means_any_value_but_empty_0_or_false() {
    for (ci, fails) in [
        (None, false),
        (Some(""), false),
        (Some("0"), false),
        (Some("false"), false),
        (Some("true"), true),
        (Some("1"), true),
    ] {
        let verdict = PROMTOOL.verdict(None, ci.map(OsStr::new));
        assert_eq!(matches!(verdict, Verdict::Fail(_)), fails, "CI={ci:?}");
    }
    let dir = std::env::temp_dir().join(format!("tools-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("prometheus"), "").unwrap();
    let found = on_path("prometheus", Some(dir.as_os_str()));
    assert_eq!(found, Some(dir.join("prometheus")));
    let verdict = PROMETHEUS.verdict(found, Some(OsStr::new("true")));
    assert_eq!(verdict, Verdict::Run(dir.join("prometheus")));
    assert_eq!(on_path("promtool", Some(dir.as_os_str())), None);
    let _ = std::fs::remove_dir_all(&dir);
}
