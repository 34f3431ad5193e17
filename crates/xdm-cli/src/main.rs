//! `xdm`: X direct messages from the terminal.
//!
//! Read, send, back up and follow DMs without writing code, with output for people or JSON
//! Lines for scripts, and one exit code per kind of failure (see `xdm --help` and
//! [`exit::Kind`]).

// Printing to standard output is this program's job.
#![allow(clippy::print_stdout)]
// A binary has no public API: `pub` inside its modules marks what they offer each other.
#![allow(unreachable_pub)]

mod checkpoint;
mod cli;
mod commands;
mod config;
mod connect;
mod exit;
mod job;
mod listing;
mod output;
mod progress;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Usage errors share the bad-input code; --help and --version exit 0.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(exit::Kind::Input.code())
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let verbose = cli.global.verbose;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("xdm: could not start the async runtime: {e}");
            return ExitCode::from(exit::Kind::Local.code());
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{}", failure.render(verbose));
            failure.exit_code()
        }
    }
}
