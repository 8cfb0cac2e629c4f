//! Who takes part in a run: one plan per device (handle, account,
//! invitation token), their keys made on every CPU, and their invitations
//! written into the relay's store before it starts.

use std::path::Path;
use std::sync::Arc;

use estafette_crypto::Account;
use estafette_relay::{SqliteStore, StoreLimits};
use estafette_testkit::{DeviceKeys, Identity, invite};
use estafette_wire::PreKeyUpload;
use futures::StreamExt;

use crate::args::Args;
use crate::procfs::cpus;
use crate::{Context, Res};

/// One device of `handle` (account number `account`), invited with `token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Its account's handle.
    pub handle: String,
    /// Its account's number: devices of one account share its key.
    pub account: usize,
    /// Its invitation token.
    pub token: String,
}

/// A device ready to register: its keys, its registration prekeys (signed
/// and last-resort; no one-time keys) and its invitation. The secret
/// prekeys are not kept: a run never decrypts.
pub struct Member {
    /// Account key and device.
    pub keys: DeviceKeys,
    /// What `Register` uploads.
    pub upload: PreKeyUpload,
    /// Its account's handle.
    pub handle: String,
    /// Its invitation token.
    pub token: String,
}

fn make_member(account: &Arc<Account>, plan: &Plan) -> Res<Member> {
    let mut identity = Identity::device_of(account.clone()).context("device keys")?;
    let upload = identity.upload(0, 0).context("prekeys")?;
    Ok(Member {
        keys: identity.keys,
        upload,
        handle: plan.handle.clone(),
        token: plan.token.clone(),
    })
}

/// Keys for every planned device, on every CPU.
pub fn make_members(plans: &[Plan]) -> Res<Vec<Member>> {
    let accounts = plans.iter().map(|p| p.account).max().map_or(0, |m| m + 1);
    let accounts: Vec<Arc<Account>> = (0..accounts)
        .map(|_| Account::generate().map(Arc::new).context("account key"))
        .collect::<Res<_>>()?;
    let chunk = plans.len().div_ceil(cpus()).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = plans
            .chunks(chunk)
            .map(|part| {
                let accounts = &accounts;
                scope.spawn(move || {
                    part.iter()
                        .map(|plan| {
                            let account = accounts
                                .get(plan.account)
                                .ok_or("no such account in the plan")?;
                            make_member(account, plan)
                        })
                        .collect::<Res<Vec<_>>>()
                })
            })
            .collect();
        let mut all = Vec::with_capacity(plans.len());
        for worker in workers {
            let part = worker
                .join()
                .map_err(|_| "a key generation thread panicked".to_owned())??;
            all.extend(part);
        }
        Ok(all)
    })
}

/// Creates every invitation directly in the store, before the relay starts.
pub async fn create_invites(data: &Path, plans: &[Plan]) -> Res<()> {
    let store = SqliteStore::open(data, StoreLimits::default()).context("cannot open the store")?;
    let results: Vec<_> = futures::stream::iter(plans.iter().map(|plan| {
        let name = format!("Load {}", plan.handle);
        let store = &store;
        async move { invite(store, &plan.handle, &name, &plan.token).await }
    }))
    .buffer_unordered(1024)
    .collect()
    .await;
    for result in results {
        result.context("cannot create an invitation")?;
    }
    Ok(())
}

/// Every device of the run, in phase order: traffic pairs, idle devices
/// (16 per account), then the group's sender and members.
pub fn plans(args: &Args) -> Vec<Plan> {
    let mut plans = Vec::new();
    let mut account = 0;
    for pair in 0..args.pairs {
        for side in ["a", "b"] {
            let handle = format!("load-{side}{pair}@load.example");
            plans.push(Plan {
                token: format!("token-{handle}"),
                handle,
                account,
            });
            account += 1;
        }
    }
    // Idle devices: 16 per account (the most an account may have).
    let per_account = estafette_wire::limits::MAX_DEVICES_PER_ACCOUNT;
    for device in 0..args.idle as usize {
        let group = device / per_account;
        let handle = format!("idle-{group}@load.example");
        plans.push(Plan {
            token: format!("token-{handle}-{device}"),
            handle,
            account: account + group,
        });
    }
    // Group: a sender, then one account per member.
    let first = account + (args.idle as usize).div_ceil(per_account);
    let members = if args.group_members > 0 {
        args.group_members as usize + 1
    } else {
        0
    };
    for member in 0..members {
        let handle = match member {
            0 => "group-sender@load.example".to_owned(),
            n => format!("group-m{n}@load.example"),
        };
        plans.push(Plan {
            token: format!("token-{handle}"),
            handle,
            account: first + member,
        });
    }
    plans
}

/// Where the group phase's devices are among the identities.
pub fn group_devices(args: &Args) -> std::ops::Range<usize> {
    let first = (args.pairs * 2 + args.idle) as usize;
    first..first + args.group_members as usize + 1
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use std::collections::BTreeSet;

    use clap::Parser;
    use estafette_wire::limits::MAX_DEVICES_PER_ACCOUNT;

    use super::*;

    fn args(line: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("estafette-load").chain(line.iter().copied())).unwrap()
    }

    #[test]
    fn pairs_then_idle_then_group_each_with_its_own_token() {
        let args = args(&["--pairs", "2", "--idle", "20", "--group-members", "3"]);
        let plans = plans(&args);
        assert_eq!(plans.len(), 4 + 20 + 4);
        let handles: Vec<&str> = plans.iter().map(|p| p.handle.as_str()).collect();
        assert_eq!(
            handles[..4],
            [
                "load-a0@load.example",
                "load-b0@load.example",
                "load-a1@load.example",
                "load-b1@load.example"
            ]
        );
        // A traffic device's peer is its neighbour (index ^ 1), of another account.
        assert_ne!(plans[0].account, plans[1].account);
        let tokens: BTreeSet<&str> = plans.iter().map(|p| p.token.as_str()).collect();
        assert_eq!(tokens.len(), plans.len(), "a token is used once");
        // The group's devices are where group_devices says, sender first.
        let group = group_devices(&args);
        assert_eq!(group, 24..28);
        assert_eq!(plans[group.start].handle, "group-sender@load.example");
        assert_eq!(plans[group.start + 3].handle, "group-m3@load.example");
        let group_accounts: BTreeSet<usize> = plans[group].iter().map(|p| p.account).collect();
        assert_eq!(group_accounts.len(), 4, "one account each");
    }

    #[test]
    fn idle_devices_fill_accounts_of_the_most_devices_allowed() {
        let plans = plans(&args(&["--pairs", "0", "--idle", "40"]));
        let mut per_account = std::collections::BTreeMap::<usize, usize>::new();
        for plan in &plans {
            assert!(plan.handle.starts_with("idle-"));
            *per_account.entry(plan.account).or_default() += 1;
        }
        assert_eq!(
            per_account.values().copied().collect::<Vec<_>>(),
            [
                MAX_DEVICES_PER_ACCOUNT,
                MAX_DEVICES_PER_ACCOUNT,
                40 - 2 * MAX_DEVICES_PER_ACCOUNT
            ]
        );
    }

    #[test]
    fn members_share_their_account_key_and_carry_registration_prekeys() {
        let plans = plans(&args(&["--pairs", "0", "--idle", "3"]));
        let members = make_members(&plans).unwrap();
        assert_eq!(members.len(), 3);
        assert!(Arc::ptr_eq(
            &members[0].keys.account,
            &members[2].keys.account
        ));
        assert_ne!(members[0].keys.id(), members[1].keys.id());
        let upload = &members[0].upload;
        assert!(upload.signed_prekey.is_some() && upload.kem_last_resort.is_some());
        assert!(upload.one_time.is_empty() && upload.kem_one_time.is_empty());
        assert_eq!(members[1].token, plans[1].token);
    }

    #[tokio::test]
    async fn invitations_are_written_before_the_relay_starts() {
        let dir = tempfile::tempdir().unwrap();
        let plans = plans(&args(&["--pairs", "1"]));
        create_invites(dir.path(), &plans).await.unwrap();
        let store = SqliteStore::open(dir.path(), StoreLimits::default()).unwrap();
        let accounts = estafette_relay::store::Store::list_accounts(&store)
            .await
            .unwrap();
        let handles: Vec<&str> = accounts.iter().map(|a| a.handle.as_str()).collect();
        assert_eq!(handles, ["load-a0@load.example", "load-b0@load.example"]);
        assert!(accounts.iter().all(|a| !a.registered));
        // A token is written once: the same plans again are refused.
        assert!(create_invites(dir.path(), &plans).await.is_err());
    }
}
