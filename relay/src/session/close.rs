//! How a session ends, and the close codes that are not an error's.

/// The client left or the relay is going away.
pub const GOING_AWAY: u16 = 1001;
/// The client reads too slowly; its outbound queue overflowed.
pub const TOO_SLOW: u16 = 4100;
/// Nothing heard from the client for the idle timeout.
pub const IDLE: u16 = 4101;

/// Why the session ends.
pub enum End {
    /// The client closed or the socket failed.
    Gone,
    /// Close with this code after the frames already queued.
    Close(u16, &'static str),
}
