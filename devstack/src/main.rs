//! `cargo run -p devstack`: the whole stack on this machine without Docker.
//! A throwaway PostgreSQL (or the server in `DATABASE_URL`), a database per
//! service, fresh secrets (unless `JWT_SECRET_KEY` / `JWT_REFRESH_SECRET_KEY`
//! are set), both services; Ctrl-C stops everything. Other variables of the
//! services (`BCRYPT_COST`, `RATE_LIMIT_PER_MINUTE`, ...) apply as usual;
//! `AUTH_BIND_ADDR` and `PROFILE_BIND_ADDR` move the ports.

use std::process::ExitCode;

use devstack::stack::{StackError, StackOptions, start};
use service_kit::telemetry;
use shared::config::LogFormat;

#[actix_web::main]
async fn main() -> ExitCode {
    // .env first, so its RUST_LOG and LOG_FORMAT shape the logger too.
    shared::config::load_dotenv();
    telemetry::init(LogFormat::from_env_or_detect());
    let options = StackOptions::from_env();
    let secrets = if options.secrets_given {
        "JWT_SECRET_KEY / JWT_REFRESH_SECRET_KEY from the environment"
    } else {
        "fresh random JWT secrets (set JWT_SECRET_KEY / JWT_REFRESH_SECRET_KEY to choose them)"
    };
    let stack = match start(options).await {
        Ok(stack) => stack,
        Err(error) => {
            tracing::error!("{error}");
            let code = if matches!(error, StackError::Config(_)) {
                2
            } else {
                1
            };
            return ExitCode::from(code);
        }
    };
    let (auth, profile) = (stack.auth.port(), stack.profile.port());
    tracing::info!(
        auth = %format!("http://127.0.0.1:{auth}"),
        profile = %format!("http://127.0.0.1:{profile}"),
        auth_docs = %format!("http://127.0.0.1:{auth}/docs/"),
        profile_docs = %format!("http://127.0.0.1:{profile}/docs/"),
        database = %stack.database.describe(),
        secrets,
        "dev stack running; Ctrl-C stops it"
    );
    let results = tokio::join!(
        stack.auth.run_until_stopped(),
        stack.profile.run_until_stopped()
    );
    drop(stack.database);
    tracing::info!("dev stack stopped");
    match results {
        (Ok(()), Ok(())) => ExitCode::SUCCESS,
        (Err(error), _) | (_, Err(error)) => {
            tracing::error!("server failed: {error}");
            ExitCode::from(1)
        }
    }
}
