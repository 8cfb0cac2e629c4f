//! Frames tests send often, built in one place.

use estafette_wire::{
    ClientFrame, DeviceId, Envelope, GroupRecipient, GroupSend, Hello, Send, WIRE_VERSION,
};

/// `Hello` in this crate's wire version, from `software`.
pub fn hello(software: &str) -> ClientFrame {
    ClientFrame::Hello(Hello {
        wire_version: WIRE_VERSION,
        software: software.into(),
    })
}

/// A 1:1 send of `payload` to one device, idempotency id `[id; 16]`.
pub fn send_to(handle: &str, device: DeviceId, id: u8, payload: &[u8]) -> ClientFrame {
    ClientFrame::Send(Send {
        idempotency_id: [id; 16],
        envelopes: vec![Envelope {
            handle: handle.into(),
            device,
            payload: payload.to_vec(),
        }],
    })
}

/// The devices of one account a group send addresses.
pub fn recipient(handle: &str, devices: Vec<DeviceId>) -> GroupRecipient {
    GroupRecipient {
        handle: handle.into(),
        devices,
    }
}

/// A group send of `payload`, idempotency id `[id; 16]`.
pub fn group_send(id: u8, recipients: Vec<GroupRecipient>, payload: &[u8]) -> ClientFrame {
    ClientFrame::GroupSend(GroupSend {
        idempotency_id: [id; 16],
        recipients,
        payload: payload.to_vec(),
    })
}

/// An idempotency id carrying `n` in its first 4 bytes.
pub fn numbered_id(n: u32) -> [u8; 16] {
    let mut id = [0u8; 16];
    let (head, _) = id.split_at_mut(4);
    head.copy_from_slice(&n.to_be_bytes());
    id
}

/// The number [`numbered_id`] put in an id, or at the start of a payload.
pub fn number_of(bytes: &[u8]) -> Option<u32> {
    let head: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
    Some(u32::from_be_bytes(head))
}
