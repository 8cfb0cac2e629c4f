//! Size limits on everything a peer controls. Both sides enforce them.

/// Largest frame, in bytes, either side accepts (one WebSocket message).
pub const MAX_FRAME_BYTES: usize = 256 * 1024;

/// Longest free-form text in a frame (software names, error details), in bytes.
pub const MAX_TEXT_BYTES: usize = 256;

/// Longest handle (`prenom.nom@ministere.gouv.fr`), in bytes.
pub const MAX_HANDLE_BYTES: usize = 128;

/// Longest display name, in bytes.
pub const MAX_NAME_BYTES: usize = 128;

/// Longest invitation token, in bytes (tokens are 43 base64url characters).
pub const MAX_TOKEN_BYTES: usize = 64;

/// Longest directory search query, in bytes; shorter than 2 characters is refused.
pub const MAX_QUERY_BYTES: usize = 64;

/// Most one-time prekeys of one kind in one upload.
pub const MAX_PREKEYS_PER_UPLOAD: usize = 100;

/// Most copies (recipient devices) in one `Send`.
pub const MAX_ENVELOPES_PER_SEND: usize = 100;

/// Most accounts addressed by one `GroupSend` (a group of 1 000 members).
pub const MAX_GROUP_ACCOUNTS: usize = 1000;

/// Most devices addressed by one `GroupSend`, all accounts together.
pub const MAX_GROUP_DEVICES: usize = 4000;

/// Largest ciphertext of one copy, in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// Most accounts in one search answer.
pub const MAX_SEARCH_RESULTS: usize = 20;

/// Most devices of one account.
pub const MAX_DEVICES_PER_ACCOUNT: usize = 16;

/// Length of a device certificate (PROTOCOL.md section 2).
pub const DEVICE_CERTIFICATE_BYTES: usize = 152;

/// Length of an ML-KEM-1024 public key.
pub const KEM_PUBLIC_KEY_BYTES: usize = 1568;
