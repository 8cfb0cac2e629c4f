//! Opening many sockets: each from one of several loopback source
//! addresses, `Hello`, then `Register` or `Authenticate`, so many at a time.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use estafette_testkit::ws::{Ws, WsLink, open_ws, ws_config};
use estafette_testkit::{Client, SignIn};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::args::Args;
use crate::plan::Member;
use crate::{Context, Res};

/// How long one connection may take to open and authenticate.
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(60);

/// The `index`th device connects from 127.0.0.(1 + index mod sources):
/// more source addresses, more ephemeral ports.
pub fn source(index: usize, sources: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 1 + (index % usize::from(sources.max(1))) as u8)
}

/// How a device signs in once connected.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Open {
    /// With its invitation (the first time).
    Register,
    /// As a registered device.
    Authenticate,
}

/// A socket of `member`, signed in.
pub async fn open(
    addr: SocketAddr,
    from: Ipv4Addr,
    member: &Member,
    how: Open,
    config: WebSocketConfig,
) -> Res<Ws> {
    let ws = open_ws(addr, from, config).await.context("connect")?;
    let mut client = Client::new(WsLink(ws));
    client.try_hello("estafette-load").await.context("Hello")?;
    let how = match how {
        Open::Register => SignIn::Register {
            token: member.token.clone(),
            prekeys: Box::new(member.upload.clone()),
        },
        Open::Authenticate => SignIn::Authenticate,
    };
    let reply = client.sign_in(&member.keys, how).await.context("sign-in")?;
    client.authenticated(reply).await.context("sign-in")?;
    Ok(client.into_link().0)
}

/// Opened sockets (in the order asked for), failures by message, and the time it took.
pub struct Opened {
    /// One per device asked for; `None` where it failed.
    pub sockets: Vec<Option<Ws>>,
    /// Failures, by what went wrong.
    pub failures: BTreeMap<String, u64>,
    /// Time to open them all.
    pub elapsed: Duration,
}

impl Opened {
    /// Sockets open.
    pub fn count(&self) -> usize {
        self.sockets.iter().filter(|s| s.is_some()).count()
    }

    /// `n × what; …`, or `none`.
    pub fn failures(&self) -> String {
        if self.failures.is_empty() {
            return "none".into();
        }
        self.failures
            .iter()
            .map(|(what, n)| format!("{n} × {what}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Opens a socket for each member of `which`, `--concurrency` at a time.
pub async fn open_all(
    addr: SocketAddr,
    args: &Args,
    members: &Arc<Vec<Member>>,
    which: Vec<usize>,
    how: Open,
    config: WebSocketConfig,
) -> Opened {
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(args.concurrency as usize));
    let mut tasks = JoinSet::new();
    for (slot, index) in which.iter().copied().enumerate() {
        let gate = gate.clone();
        let members = members.clone();
        let from = source(index, args.sources);
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await;
            let Some(member) = members.get(index) else {
                return (slot, Err("no such member".to_owned()));
            };
            let result = tokio::time::timeout(SETUP_TIMEOUT, open(addr, from, member, how, config))
                .await
                .unwrap_or_else(|_| Err(format!("not open after {SETUP_TIMEOUT:?}")));
            (slot, result)
        });
    }
    let mut sockets: Vec<Option<Ws>> = which.iter().map(|_| None).collect();
    let mut failures = BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((slot, Ok(ws))) => {
                if let Some(place) = sockets.get_mut(slot) {
                    *place = Some(ws);
                }
            }
            Ok((_, Err(error))) => *failures.entry(error).or_default() += 1,
            Err(error) => *failures.entry(format!("task: {error}")).or_default() += 1,
        }
    }
    Opened {
        sockets,
        failures,
        elapsed: started.elapsed(),
    }
}

/// Registers the members `which`, all or an error.
pub async fn register_all(
    addr: SocketAddr,
    args: &Args,
    members: &Arc<Vec<Member>>,
    which: std::ops::Range<usize>,
    label: &str,
) -> Res<Opened> {
    println!("{label}: registering {} devices…", which.len());
    let opened = open_all(
        addr,
        args,
        members,
        which.collect(),
        Open::Register,
        ws_config(64 * 1024),
    )
    .await;
    if !opened.failures.is_empty() {
        return Err(format!(
            "{label} devices could not register: {}",
            opened.failures()
        ));
    }
    println!(
        "{label}: {} devices registered in {:.2} s",
        opened.count(),
        opened.elapsed.as_secs_f64()
    );
    Ok(opened)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_spread_over_the_source_addresses() {
        assert_eq!(source(0, 8), Ipv4Addr::new(127, 0, 0, 1));
        assert_eq!(source(7, 8), Ipv4Addr::new(127, 0, 0, 8));
        assert_eq!(source(8, 8), Ipv4Addr::new(127, 0, 0, 1));
        assert_eq!(source(1000, 1), Ipv4Addr::LOCALHOST);
        assert_eq!(source(249, 250), Ipv4Addr::new(127, 0, 0, 250));
    }
}
