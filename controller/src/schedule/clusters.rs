//! Predicted arrivals aggregated into clusters (the scheduler's jobs).
//!
//! A movement's demand over the horizon is a list of [`Arrival`]s — vehicles, or fractions of
//! them for flow-rate predictions — each with the time it is expected at the stop line. They
//! are sorted and merged into [`Cluster`]s: the *queue cluster* (vehicles standing, plus the
//! ones that join the queue before it would have discharged at saturation flow) and *arrival
//! clusters* (runs of arrivals whose gaps stay within `merge_gap_s`). A cluster is one job for
//! the dynamic program: once its green starts, its vehicles leave at the saturation flow, or as
//! fast as they arrive when they arrive slower than that.

/// One predicted arrival at the stop line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Arrival {
    /// When it reaches the stop line, seconds (absolute simulation time).
    pub time_s: f64,
    /// Vehicles (may be a fraction: a flow-rate prediction spreads them).
    pub veh: f64,
}

/// A job: vehicles that arrive together and leave together.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cluster {
    /// When its first vehicle can leave (arrival of the first vehicle), seconds (absolute).
    pub arrive_s: f64,
    /// How long it takes to leave once started: its vehicles at the saturation flow, or the
    /// spread of its arrivals when that is longer, seconds.
    pub duration_s: f64,
    /// Vehicles in it.
    pub veh: f64,
}

/// Build a movement's cluster sequence.
///
/// - `now_s`: the decision time; `queue_veh`: vehicles standing now (they form the queue
///   cluster, arriving at `now_s`);
/// - `arrivals`: the predicted arrivals (any order), those after `horizon_end_s` are dropped;
/// - `saturation_veh_s`: the movement's discharge rate (> 0);
/// - `merge_gap_s`: arrivals closer than this join one cluster.
///
/// Arrivals that reach the queue before it would have discharged (counting from `now_s`)
/// join the queue cluster — SURTRAC's *anticipated queue*.
pub fn form_clusters(
    now_s: f64,
    queue_veh: f64,
    arrivals: &mut [Arrival],
    saturation_veh_s: f64,
    merge_gap_s: f64,
    horizon_end_s: f64,
    out: &mut Vec<Cluster>,
) {
    out.clear();
    let sat = saturation_veh_s.max(1e-6);
    arrivals.sort_by(|a, b| a.time_s.total_cmp(&b.time_s));
    let mut it = arrivals
        .iter()
        .filter(|a| a.veh > 0.0 && a.time_s <= horizon_end_s)
        .peekable();
    if queue_veh > 0.0 {
        let mut veh = queue_veh;
        // anticipated queue: whoever arrives before the queue has left joins it
        while let Some(a) = it.peek() {
            if a.time_s <= now_s + veh / sat {
                veh += a.veh;
                it.next();
            } else {
                break;
            }
        }
        out.push(Cluster {
            arrive_s: now_s,
            duration_s: veh / sat,
            veh,
        });
    }
    // (first arrival, last arrival, vehicles) of the open arrival cluster
    let mut open: Option<(f64, f64, f64)> = None;
    for a in it {
        let t = a.time_s.max(now_s);
        open = match open {
            Some((first, last, veh)) if t - last <= merge_gap_s => Some((first, t, veh + a.veh)),
            Some((first, last, veh)) => {
                out.push(close(first, last, veh, sat));
                Some((t, t, a.veh))
            }
            None => Some((t, t, a.veh)),
        };
    }
    if let Some((first, last, veh)) = open {
        out.push(close(first, last, veh, sat));
    }
}

fn close(first: f64, last: f64, veh: f64, sat: f64) -> Cluster {
    // the last vehicle needs its own headway too: spread + one saturation headway at least
    Cluster {
        arrive_s: first,
        duration_s: (veh / sat).max(last - first + 1.0 / sat),
        veh,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(time_s: f64, veh: f64) -> Arrival {
        Arrival { time_s, veh }
    }

    /// Queue of 4 at t = 100 with saturation 0.5 veh/s: it takes 8 s, so the arrivals at
    /// 103 s and 107.5 s join it (6 vehicles, 12 s). The next at 115, 116.5 and 118 s are
    /// within the 2 s gap of each other: one cluster of 3 arriving at 115 s, spread 3 s, which
    /// at 0.5 veh/s takes 6 s (more than 3 + 2). The one at 130 s is alone (2 s: one
    /// headway), the one at 200 s lies past the horizon end 160 s.
    #[test]
    fn queue_and_arrival_clusters_from_a_known_stream() {
        let mut arr = vec![
            a(116.5, 1.0),
            a(103.0, 1.0),
            a(130.0, 1.0),
            a(115.0, 1.0),
            a(107.5, 1.0),
            a(118.0, 1.0),
            a(200.0, 1.0),
        ];
        let mut out = Vec::new();
        form_clusters(100.0, 4.0, &mut arr, 0.5, 2.0, 160.0, &mut out);
        assert_eq!(
            out,
            vec![
                Cluster {
                    arrive_s: 100.0,
                    duration_s: 12.0,
                    veh: 6.0
                },
                Cluster {
                    arrive_s: 115.0,
                    duration_s: 6.0,
                    veh: 3.0
                },
                Cluster {
                    arrive_s: 130.0,
                    duration_s: 2.0,
                    veh: 1.0
                },
            ]
        );
    }

    /// A spread platoon slower than saturation: 4 vehicles 3 s apart (gap 3 ≤ 4) from 10 s
    /// take their spread, 9 s, plus one headway of 2 s = 11 s, not 4 / 0.5 = 8 s. No queue: no
    /// queue cluster.
    #[test]
    fn a_slow_platoon_takes_its_spread() {
        let mut arr = vec![a(10.0, 1.0), a(13.0, 1.0), a(16.0, 1.0), a(19.0, 1.0)];
        let mut out = Vec::new();
        form_clusters(0.0, 0.0, &mut arr, 0.5, 4.0, 60.0, &mut out);
        assert_eq!(
            out,
            vec![Cluster {
                arrive_s: 10.0,
                duration_s: 11.0,
                veh: 4.0
            }]
        );
    }
}
