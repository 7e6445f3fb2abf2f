//! The historical profile: what each lane's arrival flow usually is at this time of day. It
//! learns from the live estimate while sensors are healthy and stands in for them when a lane
//! has no healthy sensor left.

/// Seconds in a day; the profile wraps at midnight.
pub const DAY_S: f64 = 86_400.0;

#[derive(Clone, Debug, PartialEq)]
pub struct HistoricalProfile {
    bin_s: f64,
    bins_per_day: usize,
    /// Lane-major: `flow[lane * bins_per_day + bin]`, veh/s; NaN where nothing was learned.
    flow_veh_s: Vec<f64>,
    /// Exponential smoothing weight of a new sample.
    learn_rate: f64,
}

impl HistoricalProfile {
    pub fn new(lanes: usize, bin_s: f64) -> Self {
        let bin_s = bin_s.clamp(60.0, DAY_S);
        let bins_per_day = (DAY_S / bin_s).ceil() as usize;
        HistoricalProfile {
            bin_s,
            bins_per_day,
            flow_veh_s: vec![f64::NAN; lanes * bins_per_day],
            learn_rate: 0.02,
        }
    }

    fn slot(&self, lane: usize, time_s: f64) -> usize {
        let bin = (time_s.rem_euclid(DAY_S) / self.bin_s) as usize;
        lane * self.bins_per_day + bin.min(self.bins_per_day - 1)
    }

    /// Seed a lane's profile (e.g. from last week's counts), one value per bin from midnight.
    pub fn set(&mut self, lane: usize, time_s: f64, flow_veh_s: f64) {
        let s = self.slot(lane, time_s);
        self.flow_veh_s[s] = flow_veh_s;
    }

    /// Learn from a trusted live estimate.
    pub fn learn(&mut self, lane: usize, time_s: f64, flow_veh_s: f64) {
        let s = self.slot(lane, time_s);
        let old = self.flow_veh_s[s];
        self.flow_veh_s[s] = if old.is_nan() {
            flow_veh_s
        } else {
            old + self.learn_rate * (flow_veh_s - old)
        };
    }

    /// The usual flow for this lane and time, if known.
    pub fn flow_veh_s(&self, lane: usize, time_s: f64) -> Option<f64> {
        let v = self.flow_veh_s[self.slot(lane, time_s)];
        (!v.is_nan()).then_some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_and_wraps() {
        let mut p = HistoricalProfile::new(2, 900.0);
        assert_eq!(p.flow_veh_s(1, 100.0), None);
        p.set(1, 100.0, 0.3);
        assert_eq!(p.flow_veh_s(1, 800.0), Some(0.3));
        assert_eq!(p.flow_veh_s(1, DAY_S + 100.0), Some(0.3));
        assert_eq!(p.flow_veh_s(0, 100.0), None);
        for _ in 0..500 {
            p.learn(1, 100.0, 0.1);
        }
        assert!((p.flow_veh_s(1, 100.0).unwrap() - 0.1).abs() < 1e-3);
    }
}
