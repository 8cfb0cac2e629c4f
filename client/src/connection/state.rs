/// What the user is told about the link to the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// First attempt since the app started; nothing has failed yet.
    Connecting,
    /// The relay accepted our `Hello`: messages flow.
    Connected,
    /// The link dropped or an attempt failed; the next attempt is scheduled.
    Reconnecting {
        /// Failed attempts in a row so far.
        attempt: u32,
        /// Delay before the next attempt, in milliseconds.
        retry_in_ms: u32,
    },
    /// The browser reports no network; we wait for it to come back.
    Offline,
}

impl ConnectionState {
    /// Stable machine name, used in the DOM (`data-state`) and by tests.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Reconnecting { .. } => "reconnecting",
            Self::Offline => "offline",
        }
    }
}
