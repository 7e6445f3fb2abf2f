//! The central's metrics, through the `metrics` facade: nothing is recorded until a recorder
//! is installed (`greenwave run --metrics-listen` installs the Prometheus exporter). The names,
//! labels and meaning are listed in `docs/operations.md`; [`describe`] gives each its help text.

use crate::protocol::regmap::RejectCode;
use crate::protocol::{DeviceError, LinkError};
use std::net::SocketAddr;
use std::time::Duration;

pub const LINK_UP: &str = "greenwave_field_link_up";
pub const ROUND_TRIP: &str = "greenwave_field_round_trip_seconds";
pub const RECONNECTS: &str = "greenwave_field_reconnects_total";
pub const PLANS_PUSHED: &str = "greenwave_plans_pushed_total";
pub const STAGE_REQUESTS: &str = "greenwave_stage_requests_total";
pub const REFUSALS: &str = "greenwave_refusals_total";
pub const FALLBACKS: &str = "greenwave_fallbacks_entered_total";
pub const DETECTOR_FAULTS: &str = "greenwave_detector_faults";
/// Buckets of [`ROUND_TRIP`], seconds: loopback (sub-millisecond) to a request timeout.
pub const ROUND_TRIP_BUCKETS_S: &[f64] = &[
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0,
];

/// Help text of every metric (call once, after installing a recorder).
pub fn describe() {
    metrics::describe_gauge!(
        LINK_UP,
        "1 while the field controller answers its status read, 0 once it does not"
    );
    metrics::describe_histogram!(
        ROUND_TRIP,
        metrics::Unit::Seconds,
        "one Modbus request to a field endpoint and its reply (answered requests only)"
    );
    metrics::describe_counter!(
        RECONNECTS,
        "connections opened to a field endpoint after its first one"
    );
    metrics::describe_counter!(
        PLANS_PUSHED,
        "plans (kind=plan) and standby plans (kind=standby) the field accepted"
    );
    metrics::describe_counter!(STAGE_REQUESTS, "stage requests the field accepted");
    metrics::describe_counter!(
        REFUSALS,
        "plans, standby plans and stage requests refused, by kind and reason"
    );
    metrics::describe_counter!(
        FALLBACKS,
        "times a field controller was seen entering fallback (its local plan)"
    );
    metrics::describe_gauge!(
        DETECTOR_FAULTS,
        "detectors of the field controller not reporting OK at the last poll"
    );
}

pub(crate) fn link_up(intersection: &str, up: bool) {
    metrics::gauge!(LINK_UP, "intersection" => intersection.to_string()).set(if up {
        1.0
    } else {
        0.0
    });
}

pub(crate) fn round_trip(addr: SocketAddr, took: Duration) {
    metrics::histogram!(ROUND_TRIP, "endpoint" => addr.to_string()).record(took.as_secs_f64());
}

pub(crate) fn reconnect(addr: SocketAddr) {
    metrics::counter!(RECONNECTS, "endpoint" => addr.to_string()).increment(1);
}

pub(crate) fn pushed(intersection: &str, kind: &'static str) {
    metrics::counter!(PLANS_PUSHED, "intersection" => intersection.to_string(), "kind" => kind)
        .increment(1);
}

pub(crate) fn stage_request(intersection: &str) {
    metrics::counter!(STAGE_REQUESTS, "intersection" => intersection.to_string()).increment(1);
}

pub(crate) fn refused(intersection: &str, kind: &'static str, reason: String) {
    metrics::counter!(
        REFUSALS,
        "intersection" => intersection.to_string(),
        "kind" => kind,
        "reason" => reason
    )
    .increment(1);
}

pub(crate) fn fallback(intersection: &str) {
    metrics::counter!(FALLBACKS, "intersection" => intersection.to_string()).increment(1);
}

pub(crate) fn detector_faults(intersection: &str, faulty: usize) {
    metrics::gauge!(DETECTOR_FAULTS, "intersection" => intersection.to_string()).set(faulty as f64);
}

/// A refusal's reason as a label value (and the audit log's reason): the field's reason code
/// (`timing_below_local_minimum`, `stale_sequence`, a plan rule such as `yellow_too_short`), the
/// central validator's rule (`central:<rule>`), or the Modbus exception of a refused request.
pub fn reason(e: &LinkError) -> String {
    fn snake<T: serde::Serialize>(v: &T) -> String {
        match serde_json::to_value(v) {
            Ok(serde_json::Value::String(s)) => s,
            Ok(serde_json::Value::Object(m)) => m
                .into_iter()
                .next()
                .map(|(_, v)| v.as_str().unwrap_or("other").to_string())
                .unwrap_or_else(|| "other".into()),
            _ => "other".into(),
        }
    }
    match e {
        LinkError::Device(DeviceError::Rejected { code, .. }) => match code {
            RejectCode::Rule(r) => snake(r),
            c => snake(c),
        },
        LinkError::Invalid(p) => format!("central:{}", snake(&p.rule)),
        LinkError::Device(DeviceError::Exception { code, .. }) => {
            format!("exception:{code:?}").to_lowercase()
        }
        LinkError::Codec(_) => "central:encoding".into(),
        LinkError::Device(_) => "device".into(),
        LinkError::Transport(_) => "unreachable".into(),
        LinkError::Journal(_) => "central:audit_log".into(),
    }
}
