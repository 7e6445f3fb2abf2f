//! SUMO's `--tripinfo-output`: one `<tripinfo>` per vehicle that arrived.

use crate::Error;

/// Means over the vehicles that arrived (SUMO writes a tripinfo only on arrival).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TripSummary {
    pub arrived: u64,
    /// Mean trip `duration`, s.
    pub mean_duration_s: f64,
    /// Mean `waitingTime` (time at speed ≤ 0.1 m/s), s.
    pub mean_waiting_time_s: f64,
    /// Mean `timeLoss` (time lost to driving below the ideal speed), s.
    pub mean_time_loss_s: f64,
}

/// Summarise a tripinfo XML text.
pub fn summarise(text: &str) -> Result<TripSummary, Error> {
    let doc = roxmltree::Document::parse(text).map_err(|e| Error::Tripinfo(e.to_string()))?;
    let mut s = TripSummary::default();
    for t in doc.descendants().filter(|n| n.has_tag_name("tripinfo")) {
        let num = |a: &str| -> Result<f64, Error> {
            let v = t
                .attribute(a)
                .ok_or_else(|| Error::Tripinfo(format!("tripinfo without {a}")))?;
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| Error::Tripinfo(format!("{a}=\"{v}\" is not a number")))
        };
        s.mean_duration_s += num("duration")?;
        s.mean_waiting_time_s += num("waitingTime")?;
        s.mean_time_loss_s += num("timeLoss")?;
        s.arrived += 1;
    }
    if s.arrived > 0 {
        let n = s.arrived as f64;
        s.mean_duration_s /= n;
        s.mean_waiting_time_s /= n;
        s.mean_time_loss_s /= n;
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_over_tripinfos() {
        let x = r#"<tripinfos>
            <tripinfo id="a" duration="10.00" waitingTime="2.00" timeLoss="4.00"/>
            <tripinfo id="b" duration="30.00" waitingTime="0.00" timeLoss="6.00"/>
        </tripinfos>"#;
        let s = summarise(x).unwrap();
        assert_eq!(s.arrived, 2);
        assert_eq!(s.mean_duration_s, 20.0);
        assert_eq!(s.mean_waiting_time_s, 1.0);
        assert_eq!(s.mean_time_loss_s, 5.0);
        assert!(summarise("<tripinfos><tripinfo duration=\"x\"/></tripinfos>").is_err());
        assert!(summarise("<tripinfos>").is_err());
    }
}
