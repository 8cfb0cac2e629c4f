//! The two secrets a completed OPAQUE exchange yields.

use core::fmt;

use zeroize::Zeroizing;

/// The client's export key (64 bytes): known only to someone who knows the passphrase,
/// never to the relay. The vault key is derived from it ([`ExportKey::vault_key`]).
pub struct ExportKey(pub(crate) Zeroizing<[u8; 64]>);

/// The key both sides share after a login (64 bytes); the relay holds it too.
pub struct SessionKey(pub(crate) Zeroizing<[u8; 64]>);

impl SessionKey {
    /// The key's bytes, e.g. to bind later messages of the connection to this login.
    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }
}

pub(crate) fn copy_64(bytes: &[u8]) -> Option<Zeroizing<[u8; 64]>> {
    if bytes.len() != 64 {
        return None;
    }
    let mut out = Zeroizing::new([0u8; 64]);
    out.copy_from_slice(bytes);
    Some(out)
}

impl fmt::Debug for ExportKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ExportKey(..)")
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey(..)")
    }
}
