//! `provenance accounts create|revoke|erase`.

use anyhow::Context;
use clap::Subcommand;

use super::ConfigArgs;
use crate::accounts::Role;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Create an account and print its bearer token (shown only this once).
    Create {
        #[arg(long)]
        name: String,
        /// rights-holder, publisher or operator.
        #[arg(long)]
        role: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Revoke an account's token.
    Revoke {
        #[arg(long)]
        name: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Erase a publisher's personal data: its name and the salts of its commitments. The log
    /// is untouched and every proof still verifies; the commitments can no longer be opened.
    Erase {
        #[arg(long)]
        name: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

pub fn run(command: AccountsCommand) -> anyhow::Result<()> {
    match command {
        AccountsCommand::Create { name, role, config } => {
            let role = Role::parse(&role).with_context(|| {
                format!("unknown role {role:?}: use rights-holder, publisher or operator")
            })?;
            let store = Store::open(&config.resolve()?.database_url)?;
            let (account, token) = crate::service::create_account(&store, &name, role)?;
            eprintln!(
                "created account {} ({}); store this token now, it is not shown again:",
                account.name,
                role.as_str()
            );
            println!("{token}");
            Ok(())
        }
        AccountsCommand::Revoke { name, config } => {
            let store = Store::open(&config.resolve()?.database_url)?;
            if !store.revoke_account(&name)? {
                anyhow::bail!("no account named {name:?}");
            }
            eprintln!("revoked account {name}");
            Ok(())
        }
        AccountsCommand::Erase { name, config } => {
            let store = Store::open(&config.resolve()?.database_url)?;
            let erased = store
                .erase_publisher(&name)?
                .with_context(|| format!("no account named {name:?}"))?;
            eprintln!(
                "erased account {name}: {erased} commitments can no longer be opened; the log is unchanged"
            );
            Ok(())
        }
    }
}
