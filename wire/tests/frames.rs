#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use estafette_wire::limits::*;
use estafette_wire::*;
use proptest::prelude::*;

fn answer() -> ChallengeAnswer {
    ChallengeAnswer {
        challenge: [7; 32],
        certificate: vec![1; DEVICE_CERTIFICATE_BYTES],
        signature: [9; 64],
    }
}

fn kem(id: u32) -> KemPreKey {
    KemPreKey {
        id,
        public_key: vec![3; KEM_PUBLIC_KEY_BYTES],
        signature: [4; 64],
    }
}

#[test]
fn hello_has_a_stable_encoding() {
    // Pinned bytes: a change here breaks every deployed client.
    let frame = ClientFrame::Hello(Hello {
        wire_version: 1,
        software: "e/1".into(),
    });
    let bytes = frame.encode();
    assert_eq!(
        bytes,
        [0x82, 0x00, 0x81, 0x82, 0x01, 0x63, b'e', b'/', b'1'],
        "got {bytes:02x?}"
    );
    assert_eq!(ClientFrame::decode(&bytes).unwrap(), frame);
}

#[test]
fn group_send_has_a_stable_encoding() {
    // Pinned bytes: the client and the relay are built against them.
    let frame = ClientFrame::GroupSend(GroupSend {
        idempotency_id: [1; 16],
        recipients: vec![GroupRecipient {
            handle: "a".into(),
            devices: vec![DeviceId([2; 16])],
        }],
        payload: vec![0xee],
    });
    let bytes = frame.encode();
    let mut expected = vec![0x82, 0x0a, 0x81, 0x83, 0x50];
    expected.extend([1; 16]);
    expected.extend([0x81, 0x82, 0x61, b'a', 0x81, 0x50]);
    expected.extend([2; 16]);
    expected.extend([0x41, 0xee]);
    assert_eq!(bytes, expected, "got {bytes:02x?}");
    assert_eq!(ClientFrame::decode(&bytes).unwrap(), frame);
    assert_eq!(frame.kind(), "group_send");
    let answer = ServerFrame::GroupAccepted {
        idempotency_id: [1; 16],
        queue_full: vec![GroupRecipient {
            handle: "a".into(),
            devices: vec![DeviceId([2; 16])],
        }],
    };
    let bytes = answer.encode();
    assert_eq!(&bytes[..5], [0x82, 0x0d, 0x82, 0x50, 1], "got {bytes:02x?}");
    assert_eq!(ServerFrame::decode(&bytes).unwrap(), answer);
    assert_eq!(answer.kind(), "group_accepted");
}

fn recipients(accounts: usize, devices_each: usize) -> Vec<GroupRecipient> {
    (0..accounts)
        .map(|a| GroupRecipient {
            handle: format!("m{a}@x.fr"),
            devices: (0..devices_each)
                .map(|d| {
                    let mut id = [0; 16];
                    id[..8].copy_from_slice(&(a as u64).to_be_bytes());
                    id[8] = d as u8;
                    DeviceId(id)
                })
                .collect(),
        })
        .collect()
}

fn group_send(recipients: Vec<GroupRecipient>, payload: usize) -> ClientFrame {
    ClientFrame::GroupSend(GroupSend {
        idempotency_id: [3; 16],
        recipients,
        payload: vec![7; payload],
    })
}

#[test]
fn group_limits_are_enforced_on_decode() {
    // At the limits: a 1 000-member group with 4 000 devices and a 300-byte payload.
    let largest = group_send(recipients(MAX_GROUP_ACCOUNTS, 4), 300);
    assert!(largest.encode().len() <= MAX_FRAME_BYTES);
    assert!(ClientFrame::decode(&largest.encode()).is_ok());
    let answer = ServerFrame::GroupAccepted {
        idempotency_id: [3; 16],
        queue_full: recipients(MAX_GROUP_ACCOUNTS, 4),
    };
    assert!(ServerFrame::decode(&answer.encode()).is_ok());
    let stale = ServerFrame::StaleDevices {
        idempotency_id: [3; 16],
        accounts: (0..=MAX_GROUP_ACCOUNTS)
            .map(|a| StaleAccount {
                handle: format!("m{a}"),
                missing: vec![DeviceId([1; 16])],
                extra: vec![],
            })
            .collect(),
    };
    assert!(ServerFrame::decode(&stale.encode()).is_ok());

    let mut long_handle = recipients(1, 1);
    long_handle[0].handle = "h".repeat(MAX_HANDLE_BYTES + 1);
    let cases = [
        (
            "accounts",
            group_send(recipients(MAX_GROUP_ACCOUNTS + 1, 1), 10),
        ),
        (
            "devices in all",
            group_send(recipients(MAX_GROUP_DEVICES / 4 - 1, 5), 10),
        ),
        (
            "devices of an account",
            group_send(recipients(1, MAX_DEVICES_PER_ACCOUNT + 1), 10),
        ),
        ("handle", group_send(long_handle.clone(), 10)),
        (
            "payload",
            group_send(recipients(1, 1), MAX_PAYLOAD_BYTES + 1),
        ),
    ];
    for (what, frame) in cases {
        let bytes = frame.encode();
        assert!(bytes.len() <= MAX_FRAME_BYTES, "{what}: frame too large");
        assert!(
            matches!(ClientFrame::decode(&bytes), Err(WireError::TooLong { .. })),
            "{what} accepted"
        );
    }
    let answers = [
        ServerFrame::GroupAccepted {
            idempotency_id: [3; 16],
            queue_full: recipients(MAX_GROUP_ACCOUNTS + 1, 1),
        },
        ServerFrame::GroupAccepted {
            idempotency_id: [3; 16],
            queue_full: long_handle,
        },
        ServerFrame::StaleDevices {
            idempotency_id: [3; 16],
            accounts: vec![StaleAccount {
                handle: "a".into(),
                missing: vec![DeviceId([1; 16]); MAX_DEVICES_PER_ACCOUNT + 1],
                extra: vec![],
            }],
        },
    ];
    for answer in answers {
        assert!(
            matches!(
                ServerFrame::decode(&answer.encode()),
                Err(WireError::TooLong { .. })
            ),
            "{answer:?} accepted"
        );
    }
}

#[test]
fn oversized_frames_are_refused_before_decoding() {
    let bytes = vec![0u8; MAX_FRAME_BYTES + 1];
    assert_eq!(
        ClientFrame::decode(&bytes),
        Err(WireError::FrameTooLarge {
            size: MAX_FRAME_BYTES + 1,
            limit: MAX_FRAME_BYTES
        })
    );
}

#[test]
fn every_limit_is_enforced_on_decode() {
    let long_hello = ClientFrame::Hello(Hello {
        wire_version: 1,
        software: "x".repeat(MAX_TEXT_BYTES + 1),
    });
    let short_cert = ClientFrame::Authenticate(ChallengeAnswer {
        certificate: vec![0; 151],
        ..answer()
    });
    let bad_kem = ClientFrame::UploadPreKeys {
        request: 1,
        prekeys: Box::new(PreKeyUpload {
            kem_last_resort: Some(KemPreKey {
                public_key: vec![0; 10],
                ..kem(1)
            }),
            ..Default::default()
        }),
    };
    let many_keys = ClientFrame::UploadPreKeys {
        request: 1,
        prekeys: Box::new(PreKeyUpload {
            one_time: (1..=MAX_PREKEYS_PER_UPLOAD as u32 + 1)
                .map(|id| OneTimePreKey {
                    id,
                    public_key: [1; 32],
                })
                .collect(),
            ..Default::default()
        }),
    };
    let long_handle = ClientFrame::Lookup {
        request: 1,
        handle: "h".repeat(MAX_HANDLE_BYTES + 1),
    };
    let big_payload = ClientFrame::Send(Send {
        idempotency_id: [0; 16],
        envelopes: vec![Envelope {
            handle: "a".into(),
            device: DeviceId([0; 16]),
            payload: vec![0; MAX_PAYLOAD_BYTES + 1],
        }],
    });
    for frame in [
        long_hello,
        short_cert,
        bad_kem,
        many_keys,
        long_handle,
        big_payload,
    ] {
        let kind = frame.kind();
        assert!(
            matches!(
                ClientFrame::decode(&frame.encode()),
                Err(WireError::TooLong { .. } | WireError::WrongLength { .. })
            ),
            "{kind} accepted"
        );
    }
}

#[test]
fn trailing_and_truncated_bytes_are_refused() {
    let mut bytes = ClientFrame::Ack(7).encode();
    bytes.push(0);
    assert_eq!(
        ClientFrame::decode(&bytes),
        Err(WireError::TrailingBytes(1))
    );
    let register = ClientFrame::Register(Box::new(Register {
        token: "t".into(),
        answer: answer(),
        prekeys: PreKeyUpload {
            kem_last_resort: Some(kem(1)),
            ..Default::default()
        },
    }))
    .encode();
    for cut in 0..register.len() {
        assert!(
            ClientFrame::decode(&register[..cut]).is_err(),
            "prefix of {cut} bytes accepted"
        );
    }
}

#[test]
fn fatal_errors_have_distinct_close_codes() {
    let fatal = [
        ErrorCode::MalformedFrame,
        ErrorCode::UnsupportedVersion,
        ErrorCode::UnexpectedFrame,
        ErrorCode::ShuttingDown,
        ErrorCode::InvalidToken,
        ErrorCode::TokenUsed,
        ErrorCode::TokenExpired,
        ErrorCode::HandleTaken,
        ErrorCode::UnknownDevice,
        ErrorCode::AccountRevoked,
        ErrorCode::BadSignature,
        ErrorCode::ChallengeReplayed,
        ErrorCode::StaleChallenge,
        ErrorCode::AuthTimeout,
        ErrorCode::Replaced,
    ];
    let mut codes: Vec<u16> = fatal.iter().map(|c| c.close_code()).collect();
    assert!(fatal.iter().all(|c| c.is_fatal()));
    codes.dedup();
    assert_eq!(codes.len(), fatal.len());
    assert!(!ErrorCode::NotFound.is_fatal() && !ErrorCode::RateLimited.is_fatal());
    assert_eq!(ErrorCode::AuthTimeout.close_code(), 4014);
}

fn device() -> impl Strategy<Value = DeviceId> {
    any::<[u8; 16]>().prop_map(DeviceId)
}

proptest! {
    #[test]
    fn client_frames_round_trip(request: u32, text in "[ -~]{0,64}", id: [u8; 16], payload in proptest::collection::vec(any::<u8>(), 0..256), dev in device()) {
        let frames = [
            ClientFrame::Hello(Hello { wire_version: 1, software: text.clone() }),
            ClientFrame::Ping(u64::from(request)),
            ClientFrame::Authenticate(answer()),
            ClientFrame::Lookup { request, handle: text.clone() },
            ClientFrame::Search { request, query: text.clone() },
            ClientFrame::FetchBundles { request, handle: text.clone() },
            ClientFrame::Send(Send { idempotency_id: id, envelopes: vec![Envelope { handle: text.clone(), device: dev, payload: payload.clone() }] }),
            ClientFrame::Ack(u64::from(request) << 20),
            ClientFrame::GroupSend(GroupSend { idempotency_id: id, recipients: vec![GroupRecipient { handle: text.clone(), devices: vec![dev, DeviceId([0; 16])] }, GroupRecipient { handle: "b".into(), devices: vec![dev] }], payload: payload.clone() }),
            ClientFrame::UploadPreKeys { request, prekeys: Box::new(PreKeyUpload {
                signed_prekey: Some(SignedPreKey { id: request, public_key: [5; 32], signature: [6; 64] }),
                kem_last_resort: Some(kem(request)),
                one_time: vec![OneTimePreKey { id: 1, public_key: [1; 32] }],
                kem_one_time: vec![kem(2)],
            }) },
        ];
        for frame in frames {
            prop_assert_eq!(ClientFrame::decode(&frame.encode()).unwrap(), frame);
        }
    }

    #[test]
    fn server_frames_round_trip(request: u32, text in "[ -~]{0,64}", id: [u8; 16], payload in proptest::collection::vec(any::<u8>(), 0..256), dev in device()) {
        let account = AccountInfo { handle: text.clone(), name: text.clone(), account_key: vec![1; 32], devices: vec![dev] };
        let frames = [
            ServerFrame::Welcome(Welcome { wire_version: 1, software: text.clone(), challenge: [2; 32], origin: text.clone() }),
            ServerFrame::Error { code: ErrorCode::NotFound, detail: text.clone(), request: Some(request) },
            ServerFrame::Error { code: ErrorCode::AuthTimeout, detail: text.clone(), request: None },
            ServerFrame::Authenticated { account: account.clone(), one_time_prekeys: request, kem_one_time_prekeys: 3 },
            ServerFrame::Account { request, account: account.clone() },
            ServerFrame::SearchResults { request, accounts: vec![account.clone()] },
            ServerFrame::Bundles { request, account: account.clone(), bundles: vec![Bundle {
                certificate: vec![1; DEVICE_CERTIFICATE_BYTES],
                signed_prekey: SignedPreKey { id: 1, public_key: [5; 32], signature: [6; 64] },
                kem_prekey: kem(4), kem_one_time: true, one_time: None,
            }] },
            ServerFrame::Accepted(id),
            ServerFrame::StaleDevices { idempotency_id: id, accounts: vec![StaleAccount { handle: text.clone(), missing: vec![dev], extra: vec![] }] },
            ServerFrame::QueueFull { idempotency_id: id, handle: text.clone() },
            ServerFrame::Deliver(Delivery { delivery_id: u64::from(request), sender: text.clone(), sender_device: dev, accepted_at_ms: 5, payload: payload.clone() }),
            ServerFrame::PreKeysLow { one_time_prekeys: 1, kem_one_time_prekeys: 2 },
            ServerFrame::GroupAccepted { idempotency_id: id, queue_full: vec![GroupRecipient { handle: text.clone(), devices: vec![dev] }] },
        ];
        for frame in frames {
            prop_assert_eq!(ServerFrame::decode(&frame.encode()).unwrap(), frame);
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = ClientFrame::decode(&bytes);
        let _ = ServerFrame::decode(&bytes);
    }
}
