//! The `doorstep` command.

mod notify;
mod reports;
mod sweep;
mod serve;
mod solve;
mod web;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "doorstep", version, about = "Last-mile delivery: plan, dispatch, track.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every Doorstep function in this process on the embedded SQLite store and
    /// serve the web app.
    Serve(serve::ServeArgs),
    /// Solve a routing problem file (Doorstep JSON or Solomon text) with the
    /// optimizer and print the routes.
    Solve(solve::SolveArgs),
    /// Send the pending customer notifications of a data directory's outbox
    /// and exit (`serve` does this in the background). SQLite data directories
    /// only: on AWS the notify function drains the outbox on its schedule.
    Notify(notify::NotifyArgs),
    /// Report aggregates of a data directory: `reports rebuild --from --to`
    /// recomputes them from the stored records.
    Reports(reports::ReportsArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Solve(args) => solve::run(args),
        Command::Notify(args) => notify::run(args),
        Command::Reports(args) => reports::run(args),
    }
}
