//! Licence contracts (pure): evaluating an intended use and composing attribution text.
//!
//! What this module implements, and from where:
//!
//! - **Contracts** ([`LicenseSet`], [`License`]): one TOML file per licence under
//!   `contracts/licenses/`, keyed by its [SPDX licence identifier](https://spdx.org/licenses/).
//!   Permissions, requirements and prohibitions use the terms of the Creative Commons Rights
//!   Expression Language (ccREL, W3C submission 2008). The adapter's licences each contract
//!   lists follow Creative Commons' adapter's licence chart and its list of ShareAlike
//!   compatible licences (BY-SA 4.0 to GPLv3, one way). The format is described field by field
//!   in `docs/licenses.md`.
//! - **Evaluation** ([`evaluate`]): an intended use against a contract, giving a [`Verdict`]
//!   with stable reason codes and the obligations owed; machine uses are checked against a
//!   rights holder's [`AiPreferences`] as well, because under Article 4(3) of Directive (EU)
//!   2019/790 a machine-readable reservation of text and data mining binds whatever the
//!   licence says.
//! - **Attribution** ([`attribution`]): the TASL credit (title, author, source, licence) that
//!   Creative Commons recommends, in plain text, HTML, Markdown and MediaWiki wikitext.
//! - **AI usage preferences** ([`AiPreferences`]): the usage categories of
//!   draft-ietf-aipref-vocab and their `Content-Usage` header form from
//!   draft-ietf-aipref-attach (a Structured Field Dictionary, RFC 9651), with the exceptions
//!   of the Creative Commons "CC signals" proposal carried as a parameter.
//!
//! Nothing here performs I/O except [`LicenseSet::load_dir`], which reads the directory it is
//! given; the built-in contracts are compiled into the binary.

mod aipref;
mod attribution;
mod contract;
mod evaluate;
mod sfv;

pub use aipref::{AiPreferences, AiUse, Declared, Preference, Signal};
pub use attribution::{attribution, Attribution, WorkCredit};
pub use contract::{Family, License, LicenseNotice, LicenseSet, Permit, Prohibit, Require};
pub use evaluate::{
    evaluate, Adaptation, IntendedUse, Obligation, ObligationCode, Reason, ReasonCode, Verdict,
};

use std::path::PathBuf;

/// Everything that can go wrong in this module.
#[derive(Debug, thiserror::Error)]
pub enum LicenseError {
    /// No contract in the set has this identifier or alias.
    #[error("unknown licence `{0}`")]
    UnknownLicense(String),

    /// A contract file does not say what a contract must say.
    #[error("invalid licence contract {file}: field `{field}`: {reason}")]
    InvalidContract {
        file: String,
        field: String,
        reason: String,
    },

    /// Two contract files claim the same identifier or alias.
    #[error("licence id `{id}` is declared by both {first} and {second}")]
    DuplicateLicense {
        id: String,
        first: String,
        second: String,
    },

    /// A contract directory could not be read.
    #[error("cannot read licence contracts from {path}: {source}")]
    ContractDirUnreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A credit's source address is not an http or https URL, so it cannot be linked safely.
    #[error("the source address `{0}` is not an http or https URL")]
    InvalidSourceUrl(String),

    /// A `Content-Usage` value is not a Structured Field Dictionary.
    #[error("invalid Content-Usage value at byte {offset}: {reason}")]
    InvalidContentUsage { offset: usize, reason: String },
}

#[cfg(test)]
mod tests {
    /// The module is pure: it must not reach for the web framework, the database layer or the
    /// async runtime. The names are assembled so that this test does not find itself.
    #[test]
    fn imports_no_server_crates() {
        let forbidden = [
            ["act", "ix"].concat(),
            ["die", "sel"].concat(),
            ["to", "kio"].concat(),
        ];
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/licenses");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for name in &forbidden {
                assert!(
                    !text.contains(name.as_str()),
                    "{} mentions {name}",
                    path.display()
                );
            }
        }
    }
}
