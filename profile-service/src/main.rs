//! `profile-service`: read the config, start logging, run until stopped.

use std::process::ExitCode;

#[actix_web::main]
async fn main() -> ExitCode {
    service_kit::startup::run_main(
        profile_service::config::Config::from_env,
        profile_service::startup::build,
    )
    .await
}
