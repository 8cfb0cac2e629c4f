//! Account and device identities (PROTOCOL.md section 2).

pub(crate) mod account_key;
pub(crate) mod device;
pub(crate) mod device_cert;
pub(crate) mod relay_auth;
