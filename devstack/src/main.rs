//! `cargo run -p devstack`: the whole stack on this machine without Docker.
//! A throwaway PostgreSQL (or the server in `DATABASE_URL`), a database per
//! service, fresh secrets (unless `JWT_SECRET_KEY` / `JWT_REFRESH_SECRET_KEY`
//! are set), both services; Ctrl-C stops everything. Other variables of the
//! services (`BCRYPT_COST`, `RATE_LIMIT_PER_MINUTE`, ...) apply as usual;
//! `--auth-addr` / `AUTH_BIND_ADDR` and `--profile-addr` /
//! `PROFILE_BIND_ADDR` move the ports. The auth service's mail goes to a
//! local SMTP catcher that prints each mail (unless `SMTP_URL` is set).
//! `--help` says all of it.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use std::task::Poll;

use devstack::stack::{Running, Stack, StackError, StackOptions, start};
use service_kit::config::LogFormat;
use service_kit::telemetry;

/// The whole stack on this machine, without Docker: a throwaway PostgreSQL
/// (or the server in DATABASE_URL), a database per service, fresh JWT
/// secrets (unless JWT_SECRET_KEY / JWT_REFRESH_SECRET_KEY are set), and
/// both services. Ctrl-C stops everything and deletes the throwaway data.
/// Every variable of the services (BCRYPT_COST, RATE_LIMIT_PER_MINUTE, ...)
/// applies; .env is read first.
#[derive(Parser)]
#[command(name = "devstack", version)]
struct Args {
    /// Where the auth service listens.
    #[arg(
        long,
        env = "AUTH_BIND_ADDR",
        default_value = "127.0.0.1:8001",
        value_name = "ADDR"
    )]
    auth_addr: SocketAddr,
    /// Where the profile service listens.
    #[arg(
        long,
        env = "PROFILE_BIND_ADDR",
        default_value = "127.0.0.1:8002",
        value_name = "ADDR"
    )]
    profile_addr: SocketAddr,
    /// Where the SMTP catcher listens (port 0: any free port). The auth
    /// service's mail goes there and is printed here, unless SMTP_URL is
    /// set: then mail goes to that server instead.
    #[arg(
        long,
        env = "DEVSTACK_SMTP_ADDR",
        default_value = "127.0.0.1:0",
        value_name = "ADDR"
    )]
    smtp_addr: SocketAddr,
}

#[actix_web::main]
async fn main() -> ExitCode {
    // .env first, so its RUST_LOG and LOG_FORMAT (and the addresses) count.
    service_kit::config::load_dotenv();
    // --help and --version exit 0, a bad flag exits 2, before anything starts.
    let args = Args::parse();
    let format = LogFormat::from_env_or_detect();
    telemetry::init(format);
    let mut options = StackOptions::new(args.auth_addr.to_string(), args.profile_addr.to_string());
    let mail = match catch_mail(args.smtp_addr, &mut options) {
        Ok(mail) => mail,
        Err(error) => {
            tracing::error!("{}", service_kit::error::Chain(&error));
            return ExitCode::from(1);
        }
    };
    let secrets = if options.secrets_given {
        "JWT_SECRET_KEY / JWT_REFRESH_SECRET_KEY from the environment"
    } else {
        "fresh random ones (set JWT_SECRET_KEY / JWT_REFRESH_SECRET_KEY to choose)"
    };
    let stack = match start(options).await {
        Ok(stack) => stack,
        Err(error) => {
            tracing::error!("{}", service_kit::error::Chain(&error));
            let code = if matches!(error, StackError::Config(_)) {
                2
            } else {
                1
            };
            return ExitCode::from(code);
        }
    };
    let running = Running::of(&stack, secrets, mail);
    let Stack {
        auth,
        profile,
        database,
    } = stack;
    // actix starts accepting, and logs that it does, when the servers are
    // first polled: poll them once and let the tasks they spawned (the
    // metrics listeners) start too, so that the block comes after those
    // lines and the request logs after the block.
    let mut servers = std::pin::pin!(async {
        tokio::join!(auth.run_until_stopped(), profile.run_until_stopped())
    });
    let first = std::future::poll_fn(|cx| Poll::Ready(servers.as_mut().poll(cx))).await;
    let results = match first {
        // Stopped at once: there is nothing running to announce.
        Poll::Ready(results) => results,
        Poll::Pending => {
            for _ in 0..3 {
                tokio::task::yield_now().await;
            }
            match format {
                LogFormat::Pretty => println!("{}", running.block()),
                LogFormat::Json => running.log(),
            }
            servers.await
        }
    };
    drop(database);
    tracing::info!("dev stack stopped");
    match results {
        (Ok(()), Ok(())) => ExitCode::SUCCESS,
        (Err(error), _) | (_, Err(error)) => {
            tracing::error!("server failed: {error}");
            ExitCode::from(1)
        }
    }
}

/// Starts the SMTP catcher and points the auth service's mail at it,
/// unless `SMTP_URL` names a server of the developer's own. Says where
/// mail goes.
fn catch_mail(
    addr: SocketAddr,
    options: &mut StackOptions,
) -> Result<String, devstack::mail_catcher::CatcherError> {
    let set = |name: &str| std::env::var(name).is_ok_and(|value| !value.trim().is_empty());
    if set("SMTP_URL") || set("SMTP_URL_FILE") {
        return Ok("to the server in SMTP_URL".to_owned());
    }
    let bound = devstack::mail_catcher::start(addr)?;
    options
        .extra
        .push(("SMTP_URL".into(), format!("smtp://{bound}?tls=none")));
    if !set("MAIL_FROM") {
        options
            .extra
            .push(("MAIL_FROM".into(), "Dev stack <no-reply@localhost>".into()));
    }
    if !set("APP_URL") {
        options
            .extra
            .push(("APP_URL".into(), "http://localhost:3000".into()));
    }
    Ok(format!("printed here (SMTP catcher on {bound})"))
}
