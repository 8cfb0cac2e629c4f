//! All sessions with one remote device, current first.
//!
//! Two devices that start a session at the same moment each create one; each
//! then answers the other's. Keeping a few sessions, trying each when
//! decrypting and promoting the one that works makes both sides converge
//! (Signal's session records do the same).

use estafette_crypto::{Session, Zeroizing};

/// Sessions kept per remote device.
pub const MAX_SESSIONS: usize = 5;

const FORMAT: u8 = 1;

/// The sessions with one device; `sessions[0]` encrypts.
#[derive(Default)]
pub struct SessionRecord {
    sessions: Vec<Session>,
}

impl SessionRecord {
    /// A record holding one fresh session.
    pub fn new(session: Session) -> Self {
        Self {
            sessions: vec![session],
        }
    }

    /// Whether the record holds no session.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// The session new messages are encrypted with.
    pub fn current_mut(&mut self) -> Option<&mut Session> {
        self.sessions.first_mut()
    }

    /// Makes `session` current, keeping at most [`MAX_SESSIONS`].
    pub fn promote_new(&mut self, session: Session) {
        self.sessions.insert(0, session);
        self.sessions.truncate(MAX_SESSIONS);
    }

    /// Decrypts with the first session that can; that one becomes current.
    /// Sessions that fail are unchanged.
    pub fn decrypt(&mut self, payload: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let (index, plaintext) = self
            .sessions
            .iter_mut()
            .enumerate()
            .find_map(|(i, s)| s.decrypt(payload).ok().map(|p| (i, p)))?;
        if index > 0 {
            let session = self.sessions.remove(index);
            self.sessions.insert(0, session);
        }
        Some(plaintext)
    }

    /// `0x01 || count(u8) || (len(u32) || session)*`.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(vec![FORMAT, self.sessions.len() as u8]);
        for session in &self.sessions {
            let bytes = session.to_bytes();
            out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
            out.extend_from_slice(&bytes);
        }
        out
    }

    /// Decodes [`SessionRecord::encode`]; `None` if malformed.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let (&format, rest) = bytes.split_first()?;
        let (&count, mut rest) = rest.split_first()?;
        if format != FORMAT || usize::from(count) > MAX_SESSIONS {
            return None;
        }
        let mut sessions = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let (len, tail) = rest.split_first_chunk::<4>()?;
            let len = u32::from_be_bytes(*len) as usize;
            let (session, tail) = tail.split_at_checked(len)?;
            sessions.push(Session::from_bytes(session).ok()?);
            rest = tail;
        }
        rest.is_empty().then_some(Self { sessions })
    }
}
