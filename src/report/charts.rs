//! Charts a traffic engineer would put in a report, as standalone SVG: grouped bars (delay by
//! intersection, per strategy) and travel-time distributions (one step-line histogram per
//! strategy, medians marked). Hand-written SVG: no fonts or native libraries needed.

use std::fmt::Write;

/// Colours for up to eight series, distinguishable in print and by most colour-blind readers
/// (Okabe–Ito).
const PALETTE: [&str; 8] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000",
];

pub(crate) fn colour(k: usize) -> &'static str {
    PALETTE[k % PALETTE.len()]
}

// The one SVG escape of the project lives beside the time-space diagram in `controller`.
pub(crate) use controller::optimize::tsd::svg_escape as esc;

/// A "nice" axis maximum and tick step for values up to `max`.
pub(crate) fn nice_axis(max: f64) -> (f64, f64) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    ((max / step).ceil() * step, step)
}

/// A named list of values.
pub(crate) struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

const W: f64 = 960.0;
const H: f64 = 520.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 70.0;
const BOTTOM: f64 = 90.0;

fn header(out: &mut String, title: &str, subtitle: &str) {
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="Helvetica, Arial, sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="{LEFT}" y="30" font-size="20" font-weight="bold">{}</text>
<text x="{LEFT}" y="52" font-size="13" fill="#555">{}</text>
"##,
        esc(title),
        esc(subtitle)
    );
}

fn y_axis(out: &mut String, max: f64, step: f64, label: &str) {
    let plot_h = H - TOP - BOTTOM;
    let mut v = 0.0;
    while v <= max + 1e-9 {
        let y = TOP + plot_h * (1.0 - v / max);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" font-size="12" text-anchor="end">{}</text>"##,
            W - RIGHT,
            LEFT - 8.0,
            y + 4.0,
            fmt_tick(v)
        );
        v += step;
    }
    let _ = writeln!(
        out,
        r#"<text transform="translate(22 {:.1}) rotate(-90)" font-size="13" text-anchor="middle">{}</text>"#,
        TOP + plot_h / 2.0,
        esc(label)
    );
    let _ = writeln!(
        out,
        r#"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{:.1}" stroke="black"/><line x1="{LEFT}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="black"/>"#,
        H - BOTTOM,
        H - BOTTOM,
        W - RIGHT,
        H - BOTTOM
    );
}

fn fmt_tick(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn legend(out: &mut String, names: &[&str]) {
    let width: f64 = names.iter().map(|n| 30.0 + 7.0 * n.len() as f64).sum();
    // one row when it fits, else one entry per row
    let stacked = LEFT + width > W - RIGHT;
    let mut x = LEFT;
    let mut y = if stacked {
        H - 10.0 - 18.0 * names.len() as f64
    } else {
        H - 28.0
    };
    for (k, n) in names.iter().enumerate() {
        if stacked {
            x = LEFT;
            y += 18.0;
        }
        let _ = writeln!(
            out,
            r#"<rect x="{x:.1}" y="{:.1}" width="14" height="14" fill="{}"/><text x="{:.1}" y="{:.1}" font-size="13">{}</text>"#,
            y - 11.0,
            colour(k),
            x + 20.0,
            y,
            esc(n)
        );
        x += 30.0 + 7.0 * n.len() as f64;
    }
}

/// Grouped bars: one group per category, one bar per series.
pub(crate) fn grouped_bars(
    title: &str,
    subtitle: &str,
    y_label: &str,
    categories: &[String],
    series: &[Series],
) -> String {
    let mut out = String::new();
    header(&mut out, title, subtitle);
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let (ymax, step) = nice_axis(max * 1.08);
    y_axis(&mut out, ymax, step, y_label);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let group_w = plot_w / categories.len().max(1) as f64;
    let bar_w = (group_w * 0.8) / series.len().max(1) as f64;
    for (c, cat) in categories.iter().enumerate() {
        let gx = LEFT + c as f64 * group_w + group_w * 0.1;
        for (s, ser) in series.iter().enumerate() {
            let v = ser.values.get(c).copied().unwrap_or(0.0);
            let v = if v.is_finite() { v.max(0.0) } else { 0.0 };
            let h = plot_h * v / ymax;
            let x = gx + s as f64 * bar_w;
            let _ = writeln!(
                out,
                r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{}"><title>{}: {} = {v:.1}</title></rect>"#,
                TOP + plot_h - h,
                (bar_w - 2.0).max(1.0),
                colour(s),
                esc(cat),
                esc(&ser.name)
            );
            if bar_w >= 22.0 {
                let _ = writeln!(
                    out,
                    r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle">{v:.0}</text>"#,
                    x + bar_w / 2.0 - 1.0,
                    TOP + plot_h - h - 3.0
                );
            }
        }
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle">{}</text>"#,
            gx + group_w * 0.4,
            H - BOTTOM + 18.0,
            esc(cat)
        );
    }
    let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
    legend(&mut out, &names);
    out.push_str("</svg>\n");
    out
}

fn median(v: &[f64]) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return 0.0;
    }
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// Distributions as step-line histograms (share of vehicles per bin), medians dashed.
/// The x axis is cut at the 99th percentile of all samples so one outlier does not flatten it.
pub(crate) fn distributions(
    title: &str,
    subtitle: &str,
    x_label: &str,
    series: &[Series],
) -> String {
    let mut out = String::new();
    header(&mut out, title, subtitle);
    let mut all: Vec<f64> = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .filter(|v| v.is_finite())
        .collect();
    all.sort_by(f64::total_cmp);
    let p99 = all
        .get(((all.len() as f64) * 0.99) as usize)
        .copied()
        .or(all.last().copied())
        .unwrap_or(1.0);
    let (xmax, xstep) = nice_axis(p99);
    const BINS: usize = 40;
    let bin_w = xmax / BINS as f64;
    let hists: Vec<Vec<f64>> = series
        .iter()
        .map(|s| {
            let mut h = vec![0.0; BINS];
            let n = s.values.len().max(1) as f64;
            for v in &s.values {
                // values past the axis are counted in the legend, not piled into the last bin
                if v.is_finite() && *v >= 0.0 && *v < xmax {
                    let k = ((v / bin_w) as usize).min(BINS - 1);
                    h[k] += 100.0 / n;
                }
            }
            h
        })
        .collect();
    let ymax_raw = hists.iter().flatten().copied().fold(0.0, f64::max);
    let (ymax, ystep) = nice_axis(ymax_raw * 1.1);
    y_axis(&mut out, ymax, ystep, "share of vehicles, %");
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let px = |x: f64| LEFT + plot_w * (x / xmax).min(1.0);
    let py = |y: f64| TOP + plot_h * (1.0 - y / ymax);
    let mut x = 0.0;
    while x <= xmax + 1e-9 {
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle">{}</text>"#,
            px(x),
            H - BOTTOM + 18.0,
            fmt_tick(x)
        );
        x += xstep;
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" font-size="13" text-anchor="middle">{}</text>"#,
        LEFT + plot_w / 2.0,
        H - BOTTOM + 40.0,
        esc(x_label)
    );
    let mut names = Vec::new();
    for (s, (ser, h)) in series.iter().zip(&hists).enumerate() {
        let mut d = format!("M{:.1},{:.1}", px(0.0), py(0.0));
        for (k, v) in h.iter().enumerate() {
            let _ = write!(
                d,
                " L{:.1},{:.1} L{:.1},{:.1}",
                px(k as f64 * bin_w),
                py(*v),
                px((k + 1) as f64 * bin_w),
                py(*v)
            );
        }
        let _ = write!(d, " L{:.1},{:.1}", px(xmax), py(0.0));
        let _ = writeln!(
            out,
            r#"<path d="{d}" fill="none" stroke="{}" stroke-width="2"/>"#,
            colour(s)
        );
        let m = median(&ser.values);
        let _ = writeln!(
            out,
            r#"<line x1="{:.1}" y1="{TOP}" x2="{:.1}" y2="{:.1}" stroke="{}" stroke-dasharray="6 4"/><text x="{:.1}" y="{:.1}" font-size="11" fill="{}">median {m:.0}</text>"#,
            px(m),
            px(m),
            H - BOTTOM,
            colour(s),
            px(m) + 4.0,
            TOP + 14.0 + 18.0 * s as f64,
            colour(s)
        );
        let beyond = ser.values.iter().filter(|v| **v >= xmax).count();
        names.push(format!(
            "{} (n = {}, {:.1} % beyond {})",
            ser.name,
            ser.values.len(),
            100.0 * beyond as f64 / ser.values.len().max(1) as f64,
            fmt_tick(xmax)
        ));
    }
    let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    legend(&mut out, &refs);
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_is_round() {
        assert_eq!(nice_axis(87.0), (100.0, 20.0));
        assert_eq!(nice_axis(4.2), (5.0, 1.0));
        assert_eq!(nice_axis(0.0), (1.0, 0.2));
    }

    #[test]
    fn charts_are_wellformed_svg() {
        let bars = grouped_bars(
            "Delay",
            "s",
            "s/veh",
            &["a".into(), "b<c".into()],
            &[
                Series {
                    name: "x".into(),
                    values: vec![1.0, 2.0],
                },
                Series {
                    name: "y".into(),
                    values: vec![3.0, f64::NAN],
                },
            ],
        );
        assert!(bars.starts_with("<svg") && bars.trim_end().ends_with("</svg>"));
        assert!(bars.contains("b&lt;c"));
        assert_eq!(bars.matches("<rect x=").count(), 4 + 2); // 4 bars + 2 legend swatches
        let dist = distributions(
            "TT",
            "",
            "s",
            &[Series {
                name: "x".into(),
                values: vec![10.0, 20.0, 30.0],
            }],
        );
        assert!(dist.contains("median 20"));
    }
}
