//! LATENCY: the latency monitor's events (LATEST, HISTORY, RESET, GRAPH, DOCTOR), recorded
//! when `latency-monitor-threshold` is set (see latency.rs). HISTOGRAM is refused: no
//! per-command histograms are kept (INFO commandstats has each command's calls and time).

use super::args::{Args, Failure, Res};
use super::spec::{Cx, Spec, F_ADMIN, F_NOSCRIPT};

/// The LATENCY command.
#[rustfmt::skip]
pub static COMMANDS: &[Spec] = &[
    Spec { name: "latency", arity: -2, flags: F_ADMIN | F_NOSCRIPT, group: "server", summary: "A container for latency diagnostics commands.", subs: LATENCY, ..Spec::NONE },
];

/// LATENCY's subcommands.
#[rustfmt::skip]
static LATENCY: &[Spec] = &[
    Spec { name: "latest", arity: 2, flags: F_ADMIN, group: "server", summary: "Returns the latest latency samples for all events.", run: latest, ..Spec::NONE },
    Spec { name: "history", arity: 3, flags: F_ADMIN, group: "server", syntax: "<event>", summary: "Returns timestamp-latency samples for an event.", run: history, ..Spec::NONE },
    Spec { name: "reset", arity: -2, flags: F_ADMIN, group: "server", syntax: "[<event> ...]", summary: "Resets the latency data for one or more events.", run: reset, ..Spec::NONE },
    Spec { name: "graph", arity: 3, flags: F_ADMIN, group: "server", syntax: "<event>", summary: "Returns a latency graph for an event.", run: graph, ..Spec::NONE },
    Spec { name: "doctor", arity: 2, flags: F_ADMIN, group: "server", summary: "Returns a human-readable latency analysis report.", run: doctor, ..Spec::NONE },
    Spec { name: "histogram", arity: -2, flags: F_ADMIN, group: "server", syntax: "[<command> ...]", summary: "Refused: no per-command latency histograms are kept.", run: histogram, ..Spec::NONE },
];

fn latest(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    let all = cx.srv.latency.all();
    cx.out.array(all.len());
    for (name, e) in all {
        let (time, ms) = e.samples.back().copied().unwrap_or_default();
        cx.out.array(4);
        cx.out.bulk(name.as_bytes());
        cx.out.int(time as i64);
        cx.out.int(ms as i64);
        cx.out.int(e.max as i64);
    }
    Ok(())
}

fn history(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let samples = cx.srv.latency.get(args.key()).map(|e| e.samples).unwrap_or_default();
    cx.out.array(samples.len());
    for (time, ms) in samples {
        cx.out.array(2);
        cx.out.int(time as i64);
        cx.out.int(ms as i64);
    }
    Ok(())
}

fn reset(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let n = cx.srv.latency.reset(args.rest());
    cx.out.int(n as i64);
    Ok(())
}

/// A text graph of an event's samples: one column a sample, its height its share of the
/// worst, under the worst and best times.
fn graph(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let name = args.key();
    let Some(e) = cx.srv.latency.get(name) else {
        return Err(Failure::err(format!(
            "No samples available for event '{}'",
            String::from_utf8_lossy(name)
        )));
    };
    let (max, min) = e.samples.iter().fold((0, u64::MAX), |(hi, lo), s| (hi.max(s.1), lo.min(s.1)));
    let mut text = format!(
        "{} - high {max} ms, low {min} ms (all time high {} ms)\n",
        String::from_utf8_lossy(name),
        e.max
    );
    text.push_str(&"-".repeat(80));
    text.push('\n');
    for row in (1..=4u64).rev() {
        let line: String =
            e.samples.iter().map(|s| if s.1 * 4 >= row * max.max(1) { '#' } else { ' ' }).collect();
        text.push_str(line.trim_end());
        text.push('\n');
    }
    cx.out.verbatim(&text);
    Ok(())
}

fn doctor(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    let all = cx.srv.latency.all();
    let threshold = cx.srv.rt.latency_monitor_threshold();
    let mut text = String::new();
    if threshold == 0 {
        text.push_str("The latency monitor is off: CONFIG SET latency-monitor-threshold <milliseconds> turns it on.\n");
    } else if all.is_empty() {
        text.push_str(
            "Dave, no latency spike was observed during the lifetime of this instance, nice job!\n",
        );
    }
    for (i, (name, e)) in all.iter().enumerate() {
        let avg = e.samples.iter().map(|s| s.1).sum::<u64>() / e.samples.len().max(1) as u64;
        text.push_str(&format!(
            "{}. {name}: {} latency spikes (average {avg}ms, worst all time {}ms). Commands slower than {threshold} ms ran: SLOWLOG GET shows which; INFO commandstats their time.\n",
            i + 1,
            e.samples.len(),
            e.max
        ));
    }
    cx.out.verbatim(&text);
    Ok(())
}

fn histogram(_: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    Err(Failure::err("LATENCY HISTOGRAM is not supported by this server: no per-command histograms are kept (INFO commandstats has each command's calls and microseconds)"))
}
