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
                                           (jwt_keys) and its public set (jwt_public_keys)";

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
        Command::Other(args) => match args.as_slice() {
            [command, dir] if command == "generate-secrets" => {
                auth_service::secrets::generate(std::path::Path::new(dir), None)
            }
            [command, flag, kind, dir] if command == "generate-secrets" && flag == "--keys" => {
                match auth_service::secrets::key_kind(kind) {
                    Ok(kind) => auth_service::secrets::generate(std::path::Path::new(dir), kind),
                    Err(problem) => {
                        eprintln!("generate-secrets: --keys {problem}\n\n{USAGE}");
                        ExitCode::from(2)
                    }
                }
            }
            _ => commands::usage(&args, USAGE),
        },
    }
}
