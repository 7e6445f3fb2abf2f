//! A two-state Kalman filter per lane over `[queue_veh, arrival_flow_veh_s]`.
//!
//! The model is the input–output (conservation) model every queue estimator starts from:
//! the queue grows by the arrivals and shrinks by the departures, and the arrival flow is a
//! slowly drifting level (random walk). Departures are a *known input* (stop-bar counts or
//! camera stop-line crossings), so they do not need to be estimated:
//!
//! ```text
//! q[k+1] = q[k] + dt·a[k] − d[k]      (d = departures in the step)
//! a[k+1] = a[k]
//! ```
//!
//! Measurements are either the queue (a camera counting halted vehicles) or the arrival flow
//! (an advance loop's count over its interval, camera arrivals, or the historical profile). Each
//! enters with its own variance, so a good camera dominates a coarse profile automatically.

use nalgebra::{Matrix2, RowVector2, Vector2};

/// Process and prior noise of the filter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KalmanNoise {
    /// Queue process noise (unmodelled arrivals/departures, lane changes), veh² per second.
    pub queue_var_per_s: f64,
    /// Arrival-flow random-walk noise, (veh/s)² per second.
    pub flow_var_per_s: f64,
    /// Prior variance of the queue, veh².
    pub queue_prior_var: f64,
    /// Prior variance of the arrival flow, (veh/s)².
    pub flow_prior_var: f64,
}

impl Default for KalmanNoise {
    fn default() -> Self {
        KalmanNoise {
            queue_var_per_s: 0.05,
            // A flow level that may drift by ~0.05 veh/s (180 veh/h) in a few minutes.
            flow_var_per_s: 1e-5,
            queue_prior_var: 25.0,
            flow_prior_var: 0.04,
        }
    }
}

/// The filter state of one lane (or one approach).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QueueFlowFilter {
    /// State: queue (vehicles) and arrival flow (vehicles per second).
    pub x: Vector2<f64>,
    /// State covariance.
    pub p: Matrix2<f64>,
    noise: KalmanNoise,
}

impl QueueFlowFilter {
    pub fn new(noise: KalmanNoise) -> Self {
        QueueFlowFilter {
            x: Vector2::zeros(),
            p: Matrix2::new(noise.queue_prior_var, 0.0, 0.0, noise.flow_prior_var),
            noise,
        }
    }

    /// Advance the state by `dt_s` seconds with `departures_veh` known departures.
    pub fn predict(&mut self, dt_s: f64, departures_veh: f64) {
        let f = Matrix2::new(1.0, dt_s, 0.0, 1.0);
        self.x = f * self.x - Vector2::new(departures_veh, 0.0);
        let q = Matrix2::new(
            self.noise.queue_var_per_s * dt_s,
            0.0,
            0.0,
            self.noise.flow_var_per_s * dt_s,
        );
        self.p = f * self.p * f.transpose() + q;
        self.clamp();
    }

    /// Fuse a queue measurement (vehicles) with variance `var_veh2`.
    pub fn observe_queue(&mut self, queue_veh: f64, var_veh2: f64) {
        self.update(RowVector2::new(1.0, 0.0), queue_veh, var_veh2);
    }

    /// Fuse an arrival-flow measurement (veh/s) with variance `var`.
    pub fn observe_flow(&mut self, flow_veh_s: f64, var: f64) {
        self.update(RowVector2::new(0.0, 1.0), flow_veh_s, var);
    }

    fn update(&mut self, h: RowVector2<f64>, z: f64, r: f64) {
        if !z.is_finite() || !r.is_finite() || r <= 0.0 {
            return;
        }
        let innovation = z - (h * self.x)[0];
        let s = (h * self.p * h.transpose())[0] + r;
        let k = self.p * h.transpose() / s;
        self.x += k * innovation;
        // Joseph form keeps P symmetric positive semi-definite under rounding.
        let i_kh = Matrix2::identity() - k * h;
        self.p = i_kh * self.p * i_kh.transpose() + k * k.transpose() * r;
        self.clamp();
    }

    /// Queues and flows are never negative; a clamped state keeps the filter physical.
    fn clamp(&mut self) {
        self.x[0] = self.x[0].max(0.0);
        self.x[1] = self.x[1].max(0.0);
        self.p = (self.p + self.p.transpose()) * 0.5;
    }

    pub fn queue_veh(&self) -> f64 {
        self.x[0]
    }
    pub fn arrival_flow_veh_s(&self) -> f64 {
        self.x[1]
    }
    pub fn queue_var(&self) -> f64 {
        self.p[(0, 0)]
    }
    pub fn flow_var(&self) -> f64 {
        self.p[(1, 1)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lane in steady state: 0.2 veh/s arrive, the same leave, the queue stays at 6.
    /// Noisy-but-unbiased measurements (a fixed deterministic ±pattern) must pull the filter
    /// from its zero prior to the truth.
    #[test]
    fn converges_to_constant_queue_and_flow() {
        let mut f = QueueFlowFilter::new(KalmanNoise::default());
        let (true_q, true_a) = (6.0, 0.2);
        for k in 0..600 {
            f.predict(1.0, true_a); // departures equal arrivals: the queue holds
            let wiggle = if k % 2 == 0 { 1.0 } else { -1.0 };
            f.observe_queue(true_q + wiggle, 1.0);
            if k % 30 == 29 {
                // an advance loop's 30 s count, off by one vehicle either way
                let count = true_a * 30.0 + wiggle;
                f.observe_flow(count / 30.0, (count.max(1.0)) / 900.0);
            }
        }
        assert!(
            (f.queue_veh() - true_q).abs() < 1.1,
            "queue {}",
            f.queue_veh()
        );
        assert!(
            (f.arrival_flow_veh_s() - true_a).abs() < 0.03,
            "flow {}",
            f.arrival_flow_veh_s()
        );
        assert!(f.queue_var() < 1.0 && f.flow_var() < 1e-3);
    }

    /// With only counts (no camera), the queue is the integral of arrivals − departures.
    #[test]
    fn input_output_queue_without_camera() {
        let mut f = QueueFlowFilter::new(KalmanNoise::default());
        // 60 s of red: 0.25 veh/s arrive, none leave; flow measured by an advance loop.
        for k in 0..60 {
            f.predict(1.0, 0.0);
            if k % 10 == 9 {
                f.observe_flow(0.25, 0.25 / 100.0);
            }
        }
        // Queue must have grown towards 15 veh (the filter learns the flow on the way).
        assert!(
            f.queue_veh() > 8.0 && f.queue_veh() < 16.0,
            "{}",
            f.queue_veh()
        );
        assert!((f.arrival_flow_veh_s() - 0.25).abs() < 0.05);
    }

    #[test]
    fn never_negative_and_ignores_bad_input() {
        let mut f = QueueFlowFilter::new(KalmanNoise::default());
        f.predict(1.0, 5.0);
        assert_eq!(f.queue_veh(), 0.0);
        f.observe_queue(f64::NAN, 1.0);
        f.observe_flow(0.3, 0.0);
        assert!(f.queue_veh().is_finite() && f.arrival_flow_veh_s() == 0.0);
    }
}
