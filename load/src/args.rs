//! The command line: what to measure, how hard, and where.

use std::path::PathBuf;

use clap::Parser;
use estafette_wire::limits::MAX_GROUP_ACCOUNTS;

use crate::Res;

#[derive(Parser, Clone)]
#[command(
    name = "estafette-load",
    about = "Load generator for the Estafette relay: message throughput and latency, then idle sockets."
)]
pub struct Args {
    /// Relay binary to start (default: estafette-relay next to this program).
    #[arg(long)]
    pub relay_bin: Option<PathBuf>,
    /// Connect from 127.0.0.1 ..= 127.0.0.N (spreads the ephemeral ports).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u8).range(1..=250))]
    pub sources: u8,
    /// Pairs of devices exchanging messages (0: no traffic phase).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(0..=20_000))]
    pub pairs: u32,
    /// Messages per second offered, all devices together.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub rate: u32,
    /// Seconds of measured traffic.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub duration: u64,
    /// Seconds of traffic before the measurement starts.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub warmup: u64,
    /// Sends in flight (sent, not yet answered) per device.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub window: u32,
    /// Payload bytes per message (the first 16 carry timestamps).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(16..=65_536))]
    pub payload: u32,
    /// Recipient devices of the group phase, one account each, plus one sender (0: no group phase).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=MAX_GROUP_ACCOUNTS as i64))]
    pub group_members: u32,
    /// Group messages per second the sender offers.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub group_rate: u32,
    /// Group messages stored for offline members to measure the storage per message (0: skip).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub storage_messages: u32,
    /// Idle devices to register, reconnect, authenticate and hold (0: no idle phase).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=500_000))]
    pub idle: u32,
    /// Seconds to hold the idle sockets before the final figures.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub idle_hold: u64,
    /// Connections being opened at once during setup.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub concurrency: u32,
    /// Worker threads of the generator (default: the number of CPUs).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Parent of the temporary data directory (default: the system's temp dir).
    #[arg(long)]
    pub tmp_dir: Option<PathBuf>,
    /// Keep the data directory (and the relay's log) afterwards.
    #[arg(long)]
    pub keep_data: bool,
    /// Extra argument for `estafette-relay serve`, repeatable (e.g. --relay-arg=--outbound-queue=1024).
    #[arg(long = "relay-arg", allow_hyphen_values = true)]
    pub relay_args: Vec<String>,
}

impl Args {
    /// Refuses a run with nothing to measure.
    pub fn check(&self) -> Res<()> {
        if self.pairs == 0 && self.idle == 0 && self.group_members == 0 {
            return Err("nothing to do: give --pairs, --group-members or --idle".into());
        }
        Ok(())
    }

    /// Open files each process (this one, the relay) needs: one end of
    /// every socket open at once, and a margin.
    pub fn files_needed(&self) -> u64 {
        u64::from(self.pairs * 2 + self.group_members + 1).max(u64::from(self.idle)) + 64
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("estafette-load").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_are_the_documented_traffic_run() {
        let args = parse(&[]).unwrap();
        assert_eq!(
            (
                args.pairs,
                args.rate,
                args.duration,
                args.warmup,
                args.window
            ),
            (100, 20_000, 20, 2, 64)
        );
        assert_eq!(
            (args.payload, args.sources, args.concurrency),
            (256, 8, 200)
        );
        assert_eq!(
            (args.group_members, args.group_rate, args.storage_messages),
            (0, 5, 100)
        );
        assert_eq!((args.idle, args.idle_hold), (0, 5));
        assert!(args.relay_bin.is_none() && !args.keep_data && args.relay_args.is_empty());
        assert!(args.check().is_ok());
    }

    #[test]
    fn values_out_of_range_are_refused() {
        for bad in [
            &["--sources", "0"][..],
            &["--sources", "251"],
            &["--pairs", "20001"],
            &["--rate", "0"],
            &["--duration", "0"],
            &["--payload", "15"],
            &["--window", "0"],
            &["--group-members", "1001"],
            &["--idle", "500001"],
            &["--no-such-flag"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            parse(&["--group-members", "1000"]).unwrap().group_members as usize,
            MAX_GROUP_ACCOUNTS
        );
    }

    #[test]
    fn relay_arguments_pass_through_with_their_hyphens() {
        let args = parse(&[
            "--relay-arg=--outbound-queue=1024",
            "--relay-arg",
            "--idle-timeout-secs=5",
        ])
        .unwrap();
        assert_eq!(
            args.relay_args,
            ["--outbound-queue=1024", "--idle-timeout-secs=5"]
        );
    }

    #[test]
    fn a_run_with_nothing_to_measure_is_refused() {
        let args = parse(&["--pairs", "0"]).unwrap();
        assert!(args.check().unwrap_err().contains("nothing to do"));
        assert!(
            parse(&["--pairs", "0", "--idle", "5"])
                .unwrap()
                .check()
                .is_ok()
        );
    }

    #[test]
    fn open_files_cover_the_largest_phase() {
        let traffic = parse(&["--pairs", "100"]).unwrap();
        assert_eq!(traffic.files_needed(), 201 + 64);
        let idle = parse(&["--pairs", "10", "--idle", "19900"]).unwrap();
        assert_eq!(idle.files_needed(), 19_900 + 64);
        let group = parse(&["--pairs", "0", "--group-members", "1000"]).unwrap();
        assert_eq!(group.files_needed(), 1001 + 64);
    }
}
