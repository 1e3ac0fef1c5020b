//! `doorstep-aws`: operator's commands against a deployed DynamoDB table.
//! AWS configuration as the SDKs read it (`AWS_PROFILE`, `AWS_REGION`,
//! credentials, `AWS_ENDPOINT_URL` for a local DynamoDB).

use std::io::Read as _;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use doorstep_admin_aws::{NewOrganisation, create_org};
use doorstep_core::SystemClock;
use doorstep_core::adapters::Argon2Passwords;
use doorstep_store_dynamodb::DynamoStore;

#[derive(Debug, Parser)]
#[command(name = "doorstep-aws", version, about = "Operator's commands for a Doorstep deployment on AWS (DynamoDB).")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create an organisation and its first dispatcher account in the table.
    /// The password is read from standard input (one line), never from the
    /// command line, where other users and shell history could see it.
    CreateOrg(CreateOrgArgs),
}

#[derive(Debug, clap::Args)]
struct CreateOrgArgs {
    /// The DynamoDB table (the stack's `TableName` output).
    #[arg(long, env = "DOORSTEP_TABLE")]
    table: String,
    /// The organisation's name, as the app shows it.
    #[arg(long)]
    org_name: String,
    /// The organisation's IANA time zone.
    #[arg(long, default_value = "UTC")]
    timezone: String,
    /// The dispatcher's email address (their sign-in name).
    #[arg(long)]
    email: String,
    /// The dispatcher's display name (default: the email address).
    #[arg(long)]
    name: Option<String>,
    /// Read the password from standard input (required: there is no other way).
    #[arg(long, required = true)]
    password_stdin: bool,
}

fn main() -> anyhow::Result<()> {
    let Command::CreateOrg(args) = Cli::parse().command;
    let mut password = String::new();
    std::io::stdin().read_to_string(&mut password).context("cannot read the password from standard input")?;
    let password = password.lines().next().unwrap_or_default().to_owned();
    if password.is_empty() {
        bail!("--password-stdin: standard input held no password; pipe it in, e.g. `read -rs PW; printf '%s\\n' \"$PW\" | doorstep-aws create-org ...`");
    }
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?.block_on(async {
        // The SDK's own configuration; the table from --table.
        let store = DynamoStore::new(DynamoStore::from_env().await.client().clone(), args.table.clone());
        let new = NewOrganisation {
            name: args.org_name,
            timezone: args.timezone,
            dispatcher_name: args.name.unwrap_or_else(|| args.email.clone()),
            email: args.email,
            password,
        };
        let (org, user) = create_org(&store, &SystemClock, &Argon2Passwords::default(), &new)
            .await
            .with_context(|| format!("cannot create the organisation in table {}", args.table))?;
        println!("{}", serde_json::json!({"org_id": org.id, "org_name": org.name, "user_id": user.id, "email": user.email}));
        Ok(())
    })
}
