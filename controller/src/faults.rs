//! Detector fault injection for replays and tests: a [`Controller`] wrapper that corrupts chosen
//! loop detectors' readings before the wrapped controller sees them — what a stuck-on, a
//! stuck-off or a chattering loop would report in the field.

use roadnet::{Command, Controller, DetectorId, DetectorReading, StepInput};

/// How a detector misbehaves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fault {
    /// Occupied all the time, counts nothing (a shorted loop).
    StuckOn,
    /// Never occupied, counts nothing (a cut lead-in).
    StuckOff,
    /// Counts far beyond what a lane can carry with almost no occupied time (a loose
    /// connection): `count` per interval.
    Chattering { count: u32 },
}

/// Corrupts the readings of chosen detectors from `from_s` on, then hands the step to `inner`.
#[derive(Debug)]
pub struct FaultInjector<C> {
    inner: C,
    faults: Vec<(DetectorId, Fault)>,
    from_s: f64,
    scratch: Vec<DetectorReading>,
}

impl<C: Controller> FaultInjector<C> {
    pub fn new(inner: C, faults: Vec<(DetectorId, Fault)>, from_s: f64) -> Self {
        FaultInjector {
            inner,
            faults,
            from_s,
            scratch: Vec::new(),
        }
    }
    pub fn inner(&self) -> &C {
        &self.inner
    }

    fn corrupt(&self, r: &mut DetectorReading) {
        if r.time_s < self.from_s {
            return;
        }
        let Some((_, f)) = self.faults.iter().find(|(d, _)| *d == r.detector) else {
            return;
        };
        match *f {
            Fault::StuckOn => {
                r.count = 0;
                r.occupancy = 1.0;
                r.mean_speed_m_s = None;
            }
            Fault::StuckOff => {
                r.count = 0;
                r.occupancy = 0.0;
                r.mean_speed_m_s = None;
            }
            Fault::Chattering { count } => {
                r.count = count;
                r.occupancy = 0.0;
            }
        }
    }
}

impl<C: Controller> Controller for FaultInjector<C> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn step(&mut self, input: &StepInput<'_>, out: &mut Vec<Command>) {
        let mut readings = std::mem::take(&mut self.scratch);
        readings.clear();
        readings.extend_from_slice(input.detectors);
        for r in readings.iter_mut() {
            self.corrupt(r);
        }
        let faulty = StepInput {
            detectors: &readings,
            ..*input
        };
        self.inner.step(&faulty, out);
        self.scratch = readings;
    }
}
