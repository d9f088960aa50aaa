//! Accounts: names, roles and token hashes.

use diesel::prelude::*;

use super::log::unix_now;
use super::schema::accounts;
use super::{Store, StoreError};
use crate::accounts::Role;

#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub public_key: Option<String>,
}

pub struct NewAccount<'a> {
    pub name: &'a str,
    pub role: Role,
    pub token_hash: [u8; 32],
}

type AccountRow = (i64, String, String, Option<String>);

fn to_account((id, name, role, public_key): AccountRow) -> Result<Account, StoreError> {
    let role = Role::parse(&role)
        .ok_or_else(|| StoreError::Corrupt(format!("account {name} has unknown role {role}")))?;
    Ok(Account {
        id,
        name,
        role,
        public_key,
    })
}

impl Store {
    pub fn create_account(&self, new: NewAccount<'_>) -> Result<Account, StoreError> {
        let mut conn = self.conn()?;
        conn.transaction(|conn| {
            let taken: i64 = accounts::table
                .filter(accounts::name.eq(new.name))
                .count()
                .get_result(conn)?;
            if taken > 0 {
                return Err(StoreError::Conflict(format!(
                    "an account named {:?} already exists",
                    new.name
                )));
            }
            diesel::insert_into(accounts::table)
                .values((
                    accounts::name.eq(new.name),
                    accounts::role.eq(new.role.as_str()),
                    accounts::token_hash.eq(new.token_hash.to_vec()),
                    accounts::created_at.eq(unix_now()),
                ))
                .execute(conn)?;
            let row: AccountRow = accounts::table
                .filter(accounts::name.eq(new.name))
                .select((
                    accounts::id,
                    accounts::name,
                    accounts::role,
                    accounts::public_key,
                ))
                .first(conn)?;
            to_account(row)
        })
    }

    /// The live (not revoked) account a token belongs to.
    pub fn account_by_token_hash(&self, hash: &[u8; 32]) -> Result<Option<Account>, StoreError> {
        let mut conn = self.conn()?;
        let row: Option<AccountRow> = accounts::table
            .filter(accounts::token_hash.eq(hash.to_vec()))
            .filter(accounts::revoked_at.is_null())
            .select((
                accounts::id,
                accounts::name,
                accounts::role,
                accounts::public_key,
            ))
            .first(&mut conn)
            .optional()?;
        row.map(to_account).transpose()
    }

    /// Revokes every token of the named account; answers whether the account existed.
    pub fn revoke_account(&self, name: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let changed = diesel::update(accounts::table.filter(accounts::name.eq(name)))
            .set(accounts::revoked_at.eq(Some(unix_now())))
            .execute(&mut conn)?;
        Ok(changed > 0)
    }
}

impl Store {
    /// Sets or clears the verifier key an account signs entries with.
    pub fn set_public_key(&self, account_id: i64, key: Option<&str>) -> Result<(), StoreError> {
        diesel::update(accounts::table.find(account_id))
            .set(accounts::public_key.eq(key))
            .execute(&mut self.conn()?)?;
        Ok(())
    }
}
