//! Programs from outside the workspace that a few tests need (Debian's
//! `prometheus` and `promtool`). On a developer's machine without one, the
//! test is skipped with one line on stderr saying which and how to install
//! it; under CI (`CI` set, as `.ci/run` does) a missing program fails the
//! test instead, so CI never skips silently.
//!
//! libtest cannot mark a test skipped at run time (rust-lang/rust#68007),
//! so a skipped test still reports `ok`; the line is what tells. It is
//! written to the process's stderr itself: `eprintln!` output is captured
//! and shown only for failing tests.

use std::ffi::OsStr;
use std::io::Write;
use std::path::PathBuf;

/// An outside program and the Debian package that installs it.
#[derive(Debug, Clone, Copy)]
pub struct Tool {
    pub program: &'static str,
    pub package: &'static str,
}

pub const PROMETHEUS: Tool = Tool {
    program: "prometheus",
    package: "prometheus",
};
pub const PROMTOOL: Tool = Tool {
    program: "promtool",
    package: "prometheus",
};

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
    /// The program's path for the running test. When it is missing, prints
    /// `SKIPPED <test>: ...` and returns `None` (the test returns early),
    /// or panics under CI.
    pub fn required(self) -> Option<PathBuf> {
        let ci = std::env::var_os("CI");
        match self.verdict(std::env::var_os("PATH").as_deref(), ci.as_deref()) {
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

    /// Looks the program up in `path` (PATH's value); `ci` is CI's value.
    pub fn verdict(self, path: Option<&OsStr>, ci: Option<&OsStr>) -> Verdict {
        let found = path.and_then(|path| {
            std::env::split_paths(path)
                .map(|dir| dir.join(self.program))
                .find(|candidate| candidate.is_file())
        });
        if let Some(found) = found {
            return Verdict::Run(found);
        }
        let missing = format!(
            "{} is not installed (apt-get install {})",
            self.program, self.package
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
