//! Size limits on everything a peer controls. Both sides enforce them.

/// Largest frame, in bytes, either side accepts (one WebSocket message).
pub const MAX_FRAME_BYTES: usize = 256 * 1024;

/// Longest free-form text in a frame (software names, error details), in bytes.
pub const MAX_TEXT_BYTES: usize = 256;
