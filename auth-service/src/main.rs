//! `auth-service`: serve (no arguments), `healthcheck`, or
//! `generate-secrets DIR`.

use std::process::ExitCode;

use service_kit::commands::{self, Command};

const USAGE: &str =
    "usage: auth-service                        serve (configured by the environment; see README)
       auth-service healthcheck            exit 0 when this service's /readyz answers 200
       auth-service generate-secrets [--keys es256|eddsa] DIR
                                           write missing secrets into DIR (never overwrites one);
                                           --keys also writes an access-token signing key set
                                           (jwt_keys) and its public set (jwt_public_keys)
       auth-service generate-secrets [--keys es256|eddsa] --print
                                           print them as `name value` lines into a pipe
                                           (for docker secret create; never to a terminal)";

#[actix_web::main]
async fn main() -> ExitCode {
    match commands::parse() {
        Command::Serve => {
            service_kit::startup::run_main(
                auth_service::config::Config::from_env,
                auth_service::startup::build,
            )
            .await
        }
        Command::Healthcheck => commands::healthcheck(auth_service::config::DEFAULT_BIND),
        Command::Other(args) => match args.split_first() {
            Some((command, rest)) if command == "generate-secrets" => generate_secrets(rest)
                .unwrap_or_else(|problem| {
                    eprintln!("generate-secrets: {problem}\n\n{USAGE}");
                    ExitCode::from(2)
                }),
            _ => commands::usage(&args, USAGE),
        },
    }
}

/// `generate-secrets [--keys KIND] (DIR | --print)`.
fn generate_secrets(args: &[String]) -> Result<ExitCode, String> {
    let (mut keys, mut print, mut dir) = (None, false, None);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--keys" => {
                let kind = args.next().ok_or("--keys needs es256, eddsa or hs256")?;
                keys = auth_service::secrets::key_kind(kind).map_err(|p| format!("--keys {p}"))?;
            }
            "--print" => print = true,
            flag if flag.starts_with('-') => return Err(format!("unknown flag {flag}")),
            path if dir.is_none() => dir = Some(std::path::PathBuf::from(path)),
            extra => return Err(format!("unexpected argument {extra}")),
        }
    }
    match (print, dir) {
        (true, None) => Ok(auth_service::secrets::print(keys)),
        (false, Some(dir)) => Ok(auth_service::secrets::generate(&dir, keys)),
        (true, Some(_)) => Err("--print writes no directory: give one or the other".into()),
        (false, None) => Err("a directory (or --print) is needed".into()),
    }
}
