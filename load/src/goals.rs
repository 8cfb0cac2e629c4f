//! The performance goals, judged from a run's figures: met, missed, or not
//! tested by this run. A run measures; it never fails on a missed goal.

use estafette_wire::limits::MAX_GROUP_ACCOUNTS;

use crate::args::Args;
use crate::idle::IdleReport;
use crate::measure::TrafficReport;
use crate::procfs::mib;

fn verdict(met: bool) -> &'static str {
    if met { "MET" } else { "MISSED" }
}

fn ms(p99: Option<f64>) -> String {
    p99.map_or("?".into(), |p| format!("{p:.2}"))
}

/// ≥ 20 000 durable msg/s with p99 send → deliver ≤ 50 ms.
pub fn throughput(args: &Args, traffic: Option<&TrafficReport>) -> String {
    let goal = "  ≥ 20000 durable msg/s, p99 ≤ 50 ms :";
    match traffic {
        Some(t) if args.rate >= 20_000 => {
            let met = t.accepted_per_s >= 20_000.0 && t.p99.is_some_and(|p| p <= 50.0);
            format!(
                "{goal} {} (accepted {:.0} msg/s, p99 {} ms)",
                verdict(met),
                t.accepted_per_s,
                ms(t.p99)
            )
        }
        Some(t) => format!(
            "{goal} not tested (offered {} msg/s; accepted {:.0} msg/s, p99 {} ms)",
            args.rate,
            t.accepted_per_s,
            ms(t.p99)
        ),
        None => format!("{goal} not tested (--pairs 0)"),
    }
}

/// p99 delivery ≤ 250 ms to a group of 1 000 devices.
pub fn fan_out(args: &Args, group: Option<&TrafficReport>) -> String {
    let goal = "  p99 delivery ≤ 250 ms, 1000 devices :";
    match group {
        Some(g) if args.group_members as usize >= MAX_GROUP_ACCOUNTS => format!(
            "{goal} {} (p99 {} ms at {} group msg/s, accepted {:.1} msg/s)",
            verdict(g.p99.is_some_and(|p| p <= 250.0)),
            ms(g.p99),
            args.group_rate,
            g.accepted_per_s
        ),
        Some(g) => format!(
            "{goal} not tested ({} members; p99 {} ms)",
            args.group_members,
            ms(g.p99)
        ),
        None => format!("{goal} not tested (--group-members 0)"),
    }
}

/// 20 000 idle authenticated sockets within 200 MB of relay RSS.
pub fn idle_memory(idle: Option<&IdleReport>) -> String {
    let goal = "  20000 idle sockets ≤ 200 MB RSS    :";
    match idle {
        Some(i) if i.open >= 20_000 => format!(
            "{goal} {} ({} sockets, {})",
            verdict(i.rss_kib.is_some_and(|k| k <= 200 * 1000)),
            i.open,
            mib(i.rss_kib)
        ),
        Some(i) => format!(
            "{goal} not tested ({} sockets open, {})",
            i.open,
            mib(i.rss_kib)
        ),
        None => format!("{goal} not tested (--idle 0)"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use clap::Parser;

    use super::*;

    fn args(line: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("estafette-load").chain(line.iter().copied())).unwrap()
    }

    fn traffic(accepted_per_s: f64, p99: Option<f64>) -> TrafficReport {
        TrafficReport {
            accepted_per_s,
            p99,
        }
    }

    #[test]
    fn throughput_needs_the_rate_and_the_latency_and_an_offer_high_enough() {
        let full = args(&["--rate", "21000"]);
        assert!(
            throughput(&full, Some(&traffic(20_975.0, Some(43.2))))
                .contains(": MET (accepted 20975 msg/s, p99 43.20 ms)")
        );
        assert!(throughput(&full, Some(&traffic(20_975.0, Some(50.1)))).contains("MISSED"));
        assert!(throughput(&full, Some(&traffic(19_990.0, Some(10.0)))).contains("MISSED"));
        assert!(throughput(&full, Some(&traffic(20_975.0, None))).contains("MISSED"));
        let low = args(&["--rate", "5000"]);
        assert!(
            throughput(&low, Some(&traffic(5_000.0, Some(1.0))))
                .contains("not tested (offered 5000 msg/s")
        );
        assert!(throughput(&low, None).contains("not tested (--pairs 0)"));
    }

    #[test]
    fn fan_out_is_judged_at_a_thousand_members_only() {
        let thousand = args(&["--group-members", "1000", "--group-rate", "20"]);
        assert!(
            fan_out(&thousand, Some(&traffic(20.0, Some(41.8))))
                .contains("MET (p99 41.80 ms at 20 group msg/s")
        );
        assert!(fan_out(&thousand, Some(&traffic(20.0, Some(251.0)))).contains("MISSED"));
        let few = args(&["--group-members", "10"]);
        assert!(fan_out(&few, Some(&traffic(5.0, Some(3.0)))).contains("not tested (10 members"));
        assert!(fan_out(&few, None).contains("not tested (--group-members 0)"));
    }

    #[test]
    fn idle_memory_is_judged_at_twenty_thousand_sockets() {
        let report = |open, rss_kib| IdleReport { open, rss_kib };
        assert!(
            idle_memory(Some(&report(20_000, Some(190_000))))
                .contains("MET (20000 sockets, 185.5 MiB)")
        );
        assert!(idle_memory(Some(&report(20_000, Some(200_001)))).contains("MISSED"));
        assert!(idle_memory(Some(&report(20_000, None))).contains("MISSED"));
        assert!(
            idle_memory(Some(&report(19_900, Some(1)))).contains("not tested (19900 sockets open")
        );
        assert!(idle_memory(None).contains("not tested (--idle 0)"));
    }
}
