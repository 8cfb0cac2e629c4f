/// What the user is told about the link to the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, minicbor::Encode, minicbor::Decode)]
pub enum ConnectionState {
    /// First attempt since the app started; nothing has failed yet.
    #[n(0)]
    Connecting,
    /// The relay accepted our `Hello`: messages flow.
    #[n(1)]
    Connected,
    /// The link dropped or an attempt failed; the next attempt is scheduled.
    #[n(2)]
    Reconnecting {
        /// Failed attempts in a row so far.
        #[n(0)]
        attempt: u32,
        /// Delay before the next attempt, in milliseconds.
        #[n(1)]
        retry_in_ms: u32,
    },
    /// The browser reports no network; we wait for it to come back.
    #[n(3)]
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
