//! The `provenance` binary: parses the command line and maps outcomes to exit codes
//! (0 ok, 1 verification failed, 2 usage or input error).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = provenance_ledger::cli::Cli::parse();
    provenance_ledger::cli::run(cli)
}
