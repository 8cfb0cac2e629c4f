//! Prekeys (PROTOCOL.md section 2): what a device publishes so others can start sessions.

pub(crate) mod bundle;
pub(crate) mod kem_prekey;
pub(crate) mod one_time_prekey;
pub(crate) mod signed_prekey;
pub(crate) mod store;
