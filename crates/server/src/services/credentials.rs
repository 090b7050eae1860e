//! The signed-in user's passkeys: list, rename, delete. Deleting the last active passkey is
//! refused: the account would have no way to sign in (recovery is not built yet).

use super::clean_name;
use super::sessions::CurrentSession;
use crate::error::Error;
use crate::store::{Credential, DeleteOutcome, Store};
use std::sync::Arc;

/// Longest passkey name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// The credential service.
pub struct Credentials {
    store: Arc<dyn Store>,
}

impl Credentials {
    /// A service over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// The user's passkeys, oldest first.
    pub async fn list(&self, current: &CurrentSession) -> Result<Vec<Credential>, Error> {
        Ok(self
            .store
            .credentials_for_user(&current.user.handle)
            .await?)
    }

    /// Renames one of the user's passkeys and returns it.
    pub async fn rename(
        &self,
        current: &CurrentSession,
        id: &[u8],
        name: &str,
    ) -> Result<Credential, Error> {
        let name = clean_name("name", name, MAX_NAME_CHARS)?;
        if !self
            .store
            .rename_credential(&current.user.handle, id, &name)
            .await?
        {
            return Err(Error::NotFound("passkey"));
        }
        match self.store.credential_by_id(id).await? {
            Some(c) if c.user_handle == current.user.handle => Ok(c),
            _ => Err(Error::NotFound("passkey")),
        }
    }

    /// Deletes one of the user's passkeys unless it is the last active one.
    pub async fn delete(&self, current: &CurrentSession, id: &[u8]) -> Result<(), Error> {
        match self
            .store
            .delete_credential(&current.user.handle, id)
            .await?
        {
            DeleteOutcome::Deleted => Ok(()),
            DeleteOutcome::NotFound => Err(Error::NotFound("passkey")),
            DeleteOutcome::LastActive => Err(Error::LastPasskey),
        }
    }
}
