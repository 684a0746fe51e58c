//! Programs from outside the workspace that some tests need (Debian's
//! `prometheus` and `promtool`, `python3-aiosmtpd` for the SMTP sink, and
//! `python3-jwt` to mint tokens with a library nobody here wrote, and
//! `oathtool` for TOTP codes the service's crate did not compute).
//! On a developer's machine without one, the test is skipped with one line
//! on stderr saying which and how to install it; under CI (`CI` set, as
//! `.ci/run` does) a missing one fails the test instead, so CI never skips
//! silently.
//!
//! libtest cannot mark a test skipped at run time (rust-lang/rust#68007),
//! so a skipped test still reports `ok`; the line is what tells. It is
//! written to the process's stderr itself: `eprintln!` output is captured
//! and shown only for failing tests.

use std::ffi::OsStr;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// An outside tool and the Debian package that installs it.
#[derive(Debug, Clone, Copy)]
pub struct Tool {
    /// What the SKIPPED line calls it.
    pub name: &'static str,
    pub package: &'static str,
    probe: Probe,
}

/// How a tool is found.
#[derive(Debug, Clone, Copy)]
enum Probe {
    /// A program of that name on PATH.
    OnPath,
    /// A module the SMTP sink's Python ([`python`]) imports.
    PythonModule,
}

pub const PROMETHEUS: Tool = Tool {
    name: "prometheus",
    package: "prometheus",
    probe: Probe::OnPath,
};
pub const PROMTOOL: Tool = Tool {
    name: "promtool",
    package: "prometheus",
    probe: Probe::OnPath,
};
pub const OATHTOOL: Tool = Tool {
    name: "oathtool",
    package: "oathtool",
    probe: Probe::OnPath,
};
/// Found as the Python that imports it.
pub const AIOSMTPD: Tool = Tool {
    name: "aiosmtpd",
    package: "python3-aiosmtpd",
    probe: Probe::PythonModule,
};

/// PyJWT (with `python3-cryptography` for ES256 and EdDSA), found as the
/// Python that imports it.
pub const PYJWT: Tool = Tool {
    name: "jwt",
    package: "python3-jwt",
    probe: Probe::PythonModule,
};

/// The Python that runs the SMTP sink: `SMTP_SINK_PYTHON`, else Debian's.
pub fn python() -> PathBuf {
    std::env::var_os("SMTP_SINK_PYTHON").map_or_else(|| "/usr/bin/python3".into(), PathBuf::from)
}

/// What a test does about a tool.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Found: run with it.
    Run(PathBuf),
    /// Missing on a developer's machine: skip, saying so.
    Skip(String),
    /// Missing under CI: fail.
    Fail(String),
}

impl Tool {
    /// The tool's path for the running test (the program, or the Python
    /// that has the module). When it is missing, prints `SKIPPED <test>:
    /// ...` and returns `None` (the test returns early), or panics under CI.
    pub fn required(self) -> Option<PathBuf> {
        let ci = std::env::var_os("CI");
        match self.verdict(self.locate(), ci.as_deref()) {
            Verdict::Run(path) => Some(path),
            Verdict::Skip(why) => {
                let thread = std::thread::current();
                let test = thread.name().unwrap_or("a test");
                let _ = writeln!(std::io::stderr().lock(), "SKIPPED {test}: {why}");
                None
            }
            Verdict::Fail(why) => panic!("{why}"),
        }
    }

    fn locate(self) -> Option<PathBuf> {
        match self.probe {
            Probe::OnPath => on_path(self.name, std::env::var_os("PATH").as_deref()),
            Probe::PythonModule => {
                let imported = Command::new(python())
                    .args(["-c", &format!("import {}", self.name)])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|status| status.success());
                imported.then(python)
            }
        }
    }

    /// What to do given where the tool was `found`; `ci` is CI's value.
    pub fn verdict(self, found: Option<PathBuf>, ci: Option<&OsStr>) -> Verdict {
        if let Some(found) = found {
            return Verdict::Run(found);
        }
        let missing = format!(
            "{} is not installed (apt-get install {})",
            self.name, self.package
        );
        let under_ci = ci.is_some_and(|value| !matches!(value.to_str(), Some("" | "0" | "false")));
        if under_ci {
            Verdict::Fail(format!(
                "{missing}; under CI (CI is set) a test fails rather than skips"
            ))
        } else {
            Verdict::Skip(missing)
        }
    }
}

/// `program` in one of `path`'s folders (PATH's value).
pub fn on_path(program: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    path.and_then(|path| {
        std::env::split_paths(path)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    })
}
