//! Sender Keys groups (PROTOCOL.md section 6): reserved for the next increment.
//!
//! They will reuse `ratchet::chain_key::kdf_ck`, `ratchet::message_key::expand` with the
//! info `"Estafette/v1/group-message-key"`, `padding`, and the `codec` module.
