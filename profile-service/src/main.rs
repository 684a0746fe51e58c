//! `profile-service`: serve (no arguments) or `healthcheck`.

use std::process::ExitCode;

use service_kit::commands::{self, Command};

const USAGE: &str =
    "usage: profile-service              serve (configured by the environment; see README)
       profile-service healthcheck  exit 0 when this service's /readyz answers 200";

#[actix_web::main]
async fn main() -> ExitCode {
    match commands::parse() {
        Command::Serve => {
            service_kit::startup::run_main(
                profile_service::config::Config::from_env,
                profile_service::startup::build,
            )
            .await
        }
        Command::Healthcheck => commands::healthcheck(profile_service::config::DEFAULT_BIND),
        Command::Other(args) => commands::usage(&args, USAGE),
    }
}
