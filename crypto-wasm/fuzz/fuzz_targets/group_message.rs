//! GroupMessage parsing, a member's chain fed arbitrary bytes, and the
//! decoders of distributions and stored chain states.
#![no_main]

use std::sync::OnceLock;

use estafette_crypto::{GroupMessage, ReceiverChain, SenderChain, SenderKeyDistribution};
use libfuzzer_sys::fuzz_target;

fn member() -> Option<&'static ReceiverChain> {
    static M: OnceLock<Option<ReceiverChain>> = OnceLock::new();
    M.get_or_init(|| {
        let sender = SenderChain::generate([7; 16], 1).ok()?;
        Some(ReceiverChain::new(&sender.distribution()))
    })
    .as_ref()
}

fuzz_target!(|data: &[u8]| {
    let _ = GroupMessage::parse(data);
    if let Ok(distribution) = SenderKeyDistribution::decode(data) {
        assert_eq!(&distribution.encode()[..], data);
    }
    if let Ok(chain) = ReceiverChain::from_bytes(data) {
        assert_eq!(&chain.to_bytes()[..], data);
    }
    let _ = SenderChain::from_bytes(data);
    if let Some(member) = member() {
        let mut member = member.clone();
        let before = member.to_bytes();
        // Nobody but the sender can sign: every input must fail, changing nothing.
        assert!(member.decrypt(data).is_err());
        assert_eq!(before, member.to_bytes(), "a failed decrypt changed the chain");
    }
});
