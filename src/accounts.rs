//! Accounts and their bearer tokens (pure).
//!
//! A token is shown once, when the account is created; the service keeps only its SHA-256, so a
//! leaked database does not leak working tokens.

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What an account may do. Reads are public; every write needs a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Registers works and licences, disputes attributions of their own works.
    RightsHolder,
    /// Records and revokes attributions.
    Publisher,
    /// Runs the service: may append operator notes and disclose commitments.
    Operator,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::RightsHolder => "rights_holder",
            Role::Publisher => "publisher",
            Role::Operator => "operator",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.replace('-', "_").as_str() {
            "rights_holder" => Some(Role::RightsHolder),
            "publisher" => Some(Role::Publisher),
            "operator" => Some(Role::Operator),
            _ => None,
        }
    }
}

const TOKEN_PREFIX: &str = "plt_";

/// A new random bearer token: 256 bits from the operating system.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

/// What the database stores in place of the token.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hash_stably() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 64);
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(token_hash(&a), token_hash(&b));
    }

    #[test]
    fn roles_parse_in_either_spelling() {
        assert_eq!(Role::parse("rights-holder"), Some(Role::RightsHolder));
        assert_eq!(Role::parse("operator"), Some(Role::Operator));
        assert_eq!(Role::parse("admin"), None);
    }
}
