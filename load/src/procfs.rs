//! Process and machine figures from `/proc`: CPU ticks by process and
//! thread, the machine's busy share, open files, the open-files limit.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

/// `/proc/<pid>/stat` times are in USER_HZ, 100 on every Linux ABI.
const TICKS_PER_SECOND: f64 = 100.0;

/// CPUs of this machine.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Raises RLIMIT_NOFILE (soft and hard) as far as allowed; returns the soft limit.
pub fn raise_nofile() -> u64 {
    let ceiling = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(1 << 20);
    if rlimit::setrlimit(rlimit::Resource::NOFILE, ceiling, ceiling).is_ok() {
        return ceiling;
    }
    rlimit::increase_nofile_limit(ceiling).unwrap_or(0)
}

/// Open file descriptors of a process (`self` or a pid).
pub fn open_fds(pid: &str) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

/// (comm, utime + stime in ticks) from a `/proc/.../stat` file.
fn stat_cpu(path: &Path) -> Option<(String, u64)> {
    let text = std::fs::read_to_string(path).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_owned();
    let mut fields = text.get(close + 1..)?.split_whitespace();
    // After the comm: state(3) ... utime(14) stime(15): the 12th and 13th.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((comm, utime + stime))
}

/// CPU ticks of a process, in all and by thread name.
#[derive(Clone, Default)]
pub struct ProcCpu {
    total: u64,
    threads: BTreeMap<String, u64>,
}

/// CPU ticks of a process (`self` or a pid) and of each of its threads by name.
fn proc_cpu(pid: &str) -> ProcCpu {
    let mut cpu = ProcCpu {
        total: stat_cpu(Path::new(&format!("/proc/{pid}/stat"))).map_or(0, |(_, t)| t),
        threads: BTreeMap::new(),
    };
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            if let Some((comm, ticks)) = stat_cpu(&task.path().join("stat")) {
                *cpu.threads.entry(comm).or_default() += ticks;
            }
        }
    }
    cpu
}

/// (busy, total) ticks of the whole machine.
fn machine_cpu() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().next()?.strip_prefix("cpu ")?;
    let values: Vec<u64> = line
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = values.iter().take(8).sum();
    let idle: u64 = values.iter().skip(3).take(2).sum();
    Some((total - idle, total))
}

/// Figures sampled at one instant, to difference later.
#[derive(Clone)]
pub struct Sample {
    at: Instant,
    relay: ProcCpu,
    generator: ProcCpu,
    machine: Option<(u64, u64)>,
}

impl Sample {
    /// The figures now.
    pub fn take(relay_pid: u32) -> Self {
        Self {
            at: Instant::now(),
            relay: proc_cpu(&relay_pid.to_string()),
            generator: proc_cpu("self"),
            machine: machine_cpu(),
        }
    }
}

/// CPU use between two samples, in cores.
pub struct CpuUse {
    seconds: f64,
    relay: f64,
    relay_threads: BTreeMap<String, f64>,
    generator: f64,
    machine_busy: Option<f64>,
}

/// The CPU used between two samples.
pub fn cpu_use(a: &Sample, b: &Sample) -> CpuUse {
    let seconds = b.at.duration_since(a.at).as_secs_f64().max(1e-9);
    let share = |ticks: u64| ticks as f64 / TICKS_PER_SECOND / seconds;
    let relay_threads = b
        .relay
        .threads
        .iter()
        .map(|(name, t)| {
            let before = a.relay.threads.get(name).copied().unwrap_or(0);
            (name.clone(), share(t.saturating_sub(before)))
        })
        .collect();
    CpuUse {
        seconds,
        relay: share(b.relay.total.saturating_sub(a.relay.total)),
        relay_threads,
        generator: share(b.generator.total.saturating_sub(a.generator.total)),
        machine_busy: match (a.machine, b.machine) {
            (Some((busy_a, total_a)), Some((busy_b, total_b))) if total_b > total_a => {
                Some((busy_b - busy_a) as f64 / (total_b - total_a) as f64)
            }
            _ => None,
        },
    }
}

/// Prints CPU use: the relay (and its threads), the generator, the machine.
pub fn print_cpu(cpu: &CpuUse) {
    let threads: Vec<String> = cpu
        .relay_threads
        .iter()
        .filter(|(_, v)| **v >= 0.005)
        .map(|(name, v)| format!("{name} {:.0}%", v * 100.0))
        .collect();
    println!(
        "  relay CPU                : {:.0}% of one core over {:.1} s ({})",
        cpu.relay * 100.0,
        cpu.seconds,
        threads.join(", ")
    );
    println!(
        "  generator CPU            : {:.0}% of one core",
        cpu.generator * 100.0
    );
    if let Some(busy) = cpu.machine_busy {
        let cores = cpus() as f64;
        println!(
            "  machine CPU busy         : {:.0}% of {} cores (relay and generator share them); other processes and kernel threads {:.0}% of one core",
            busy * 100.0,
            cores,
            ((busy * cores - cpu.relay - cpu.generator) * 100.0).max(0.0)
        );
    }
}

/// KiB as MiB with one decimal, or `?`.
pub fn mib(kib: Option<u64>) -> String {
    kib.map_or("?".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn cpu_ticks_are_read_after_the_command_name_whatever_it_holds() {
        let dir = tempfile::tempdir().unwrap();
        let stat = dir.path().join("stat");
        // pid (comm) state ppid … utime(14) stime(15) …; the name has a space and a ')'.
        std::fs::write(
            &stat,
            "4242 (tokio rt) worker) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 4 0 1000 0 0",
        )
        .unwrap();
        assert_eq!(stat_cpu(&stat), Some(("tokio rt) worker".into(), 325)));
        std::fs::write(&stat, "4242 (short) S 1").unwrap();
        assert_eq!(stat_cpu(&stat), None);
    }

    #[test]
    fn this_process_has_cpu_figures_and_open_files() {
        let cpu = proc_cpu("self");
        assert!(!cpu.threads.is_empty());
        assert!(open_fds("self").is_some_and(|n| n >= 3));
        let (busy, total) = machine_cpu().unwrap();
        assert!(busy <= total && total > 0);
    }

    #[test]
    fn cpu_use_is_ticks_per_second_per_core() {
        let at = Instant::now();
        let sample = |ticks: u64, thread: u64, busy: u64, total: u64, secs: u64| Sample {
            at: at + std::time::Duration::from_secs(secs),
            relay: ProcCpu {
                total: ticks,
                threads: BTreeMap::from([("store-writer".to_owned(), thread)]),
            },
            generator: ProcCpu {
                total: ticks / 2,
                threads: BTreeMap::new(),
            },
            machine: Some((busy, total)),
        };
        let used = cpu_use(
            &sample(1_000, 400, 5_000, 10_000, 0),
            &sample(1_150, 460, 5_300, 10_400, 2),
        );
        assert!((used.seconds - 2.0).abs() < 1e-9);
        assert!((used.relay - 0.75).abs() < 1e-9, "150 ticks in 2 s");
        assert!((used.relay_threads["store-writer"] - 0.30).abs() < 1e-9);
        assert!((used.generator - 0.375).abs() < 1e-9);
        assert!((used.machine_busy.unwrap() - 0.75).abs() < 1e-9);
    }

    #[test]
    fn memory_is_shown_in_mib() {
        assert_eq!(mib(Some(2048)), "2.0 MiB");
        assert_eq!(mib(Some(1536)), "1.5 MiB");
        assert_eq!(mib(None), "?");
    }
}
