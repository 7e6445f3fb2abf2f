//! The time-space diagram of a corridor plan as a standalone SVG (pure string building).
//!
//! Distance along the corridor runs up the page (first intersection at the bottom), time runs
//! right over a little more than two cycles. Each intersection has two signal bars: the lower
//! one for the outbound direction (travelling up the page), the upper one for inbound. The
//! outbound band is drawn as a blue parallelogram climbing to the right, the inbound band as an
//! orange one descending; their widths are printed in the title and beside each band.

use super::corridor::{CorridorPlan, Window};
use std::fmt::Write;

const W: f64 = 1400.0;
const H: f64 = 900.0;
const LEFT: f64 = 200.0;
const RIGHT: f64 = 230.0;
const TOP: f64 = 110.0;
const BOTTOM: f64 = 70.0;
const BAR_H: f64 = 9.0;

const GREEN: &str = "#2e9d3a";
const YELLOW: &str = "#f2c200";
const RED: &str = "#d6322f";
const OUT_FILL: &str = "#2f6fdb";
const IN_FILL: &str = "#e07b00";

/// Escapes text for SVG element text and attributes (double- or single-quoted): the one escape
/// of every SVG greenwave writes — this diagram and the CLI's report charts.
pub fn svg_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// A vehicle's path drawn over the diagram: (time s, distance along the corridor m).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trajectory {
    /// Travelling in the corridor's listed order (up the page).
    pub outbound: bool,
    pub points: Vec<(f64, f64)>,
}

/// Render the plan. The output is a complete SVG document.
pub fn render_svg(cp: &CorridorPlan) -> String {
    render_svg_with_trajectories(cp, &[], 0.0)
}

/// Render the plan with simulated vehicle trajectories drawn through the bands. `t0_s` is the
/// absolute time shown at the diagram's origin; pick a multiple of the cycle so the signal
/// bars (drawn from the common time reference) line up with the vehicles.
pub fn render_svg_with_trajectories(
    cp: &CorridorPlan,
    trajectories: &[Trajectory],
    t0_s: f64,
) -> String {
    let c = cp.cycle_s.max(1.0);
    let total_m = cp.positions_m.last().copied().unwrap_or(0.0).max(1.0);
    let travel_s = total_m / cp.design_speed_m_s;
    // at least two cycles, and long enough to follow one band end to end
    let span_s = ((2.0 * c).max(travel_s + c) / 10.0).ceil() * 10.0;
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let x = |t: f64| LEFT + t / span_s * plot_w;
    // keep the end intersections' bars inside the frame
    let pad = 24.0;
    let y = |d: f64| TOP + plot_h - pad - d / total_m * (plot_h - 2.0 * pad);

    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="Helvetica, Arial, sans-serif">
<rect width="100%" height="100%" fill="white"/>
"#
    );
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="34" font-size="22" font-weight="bold">Time-space diagram — corridor {}</text>"#,
        svg_escape(&cp.corridor)
    );
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="60" font-size="15">cycle {:.0} s · design speed {:.1} m/s ({:.0} km/h) · outbound band {:.1} s ({:.0} % of cycle) · inbound band {:.1} s ({:.0} %)</text>"#,
        c,
        cp.design_speed_m_s,
        cp.design_speed_m_s * 3.6,
        cp.band_out_s,
        100.0 * cp.band_out_s / c,
        cp.band_in_s,
        100.0 * cp.band_in_s / c
    );

    let _ = writeln!(
        s,
        r##"<text x="{LEFT}" y="84" font-size="13" fill="#555">Each intersection: lower bar = outbound signal (travel ↑), upper bar = inbound (travel ↓). Offsets are from the common time reference t = 0.</text>"##
    );
    if !trajectories.is_empty() {
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="84" font-size="13" fill="#555" text-anchor="end">thin lines: simulated vehicles from t = {:.0} s ({})</text>"##,
            W - 20.0,
            t0_s,
            clock(t0_s)
        );
    }
    // time grid: light lines every 10 s, darker at cycle boundaries (offset reference)
    let mut t = 0.0;
    while t <= span_s + 1e-9 {
        let major = (t / 30.0).fract().abs() < 1e-9;
        let _ = writeln!(
            s,
            r##"<line x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{1:.1}" stroke="{2}" stroke-width="1"/>"##,
            x(t),
            TOP + plot_h,
            if major { "#c8c8c8" } else { "#ececec" }
        );
        if major {
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" font-size="13" text-anchor="middle">{t:.0}</text>"#,
                x(t),
                TOP + plot_h + 20.0
            );
        }
        t += 10.0;
    }
    let mut k = 0.0;
    while k * c <= span_s + 1e-9 {
        let _ = writeln!(
            s,
            r##"<line x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{1:.1}" stroke="#777" stroke-width="1" stroke-dasharray="5,4"/>"##,
            x(k * c),
            TOP + plot_h
        );
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" font-size="12" fill="#555" text-anchor="middle">cycle {:.0}</text>"##,
            x(k * c),
            TOP - 6.0,
            k + 1.0
        );
        k += 1.0;
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" font-size="14" text-anchor="middle">time, s (0 = common reference; dashed lines = cycle boundaries)</text>"#,
        LEFT + plot_w / 2.0,
        H - 18.0
    );
    let _ = writeln!(
        s,
        r#"<text x="26" y="{:.1}" font-size="14" text-anchor="middle" transform="rotate(-90 26 {:.1})">distance along the corridor, m (outbound ↑)</text>"#,
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0
    );

    // bands first, so the signal bars sit on top of them
    let band = |s: &mut String, start: f64, b: f64, outbound: bool| {
        if b <= 0.0 {
            return;
        }
        let mut k = -1.0;
        while (start + k * c) <= span_s {
            let t0 = start + k * c;
            let (ya, yb) = if outbound {
                (y(0.0), y(total_m))
            } else {
                (y(total_m), y(0.0))
            };
            let pts = [
                (x(t0), ya),
                (x(t0 + b), ya),
                (x(t0 + b + travel_s), yb),
                (x(t0 + travel_s), yb),
            ];
            let fill = if outbound { OUT_FILL } else { IN_FILL };
            let _ = writeln!(
                s,
                r#"<polygon points="{}" fill="{fill}" fill-opacity="0.22" stroke="{fill}" stroke-opacity="0.8" stroke-width="1.2"/>"#,
                pts.iter()
                    .map(|(a, b)| format!("{a:.1},{b:.1}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            k += 1.0;
        }
    };
    let _ = writeln!(
        s,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w:.1}" height="{plot_h:.1}" fill="none" stroke="#999"/><clipPath id="plot"><rect x="{LEFT}" y="{TOP}" width="{plot_w:.1}" height="{plot_h:.1}"/></clipPath><g clip-path="url(#plot)">"##
    );
    band(&mut s, cp.band_out_start_s, cp.band_out_s, true);
    band(&mut s, cp.band_in_start_s, cp.band_in_s, false);

    // simulated vehicles: thin lines, darker than the bands, under the signal bars
    for tr in trajectories {
        let pts: Vec<String> = tr
            .points
            .iter()
            .filter(|(t, _)| *t >= t0_s - 1.0 && *t <= t0_s + span_s + 1.0)
            .map(|(t, d)| format!("{:.1},{:.1}", x(t - t0_s), y(*d)))
            .collect();
        if pts.len() < 2 {
            continue;
        }
        let stroke = if tr.outbound { "#173f8a" } else { "#8a4300" };
        let _ = writeln!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{stroke}" stroke-opacity="0.55" stroke-width="0.9"/>"#,
            pts.join(" ")
        );
    }

    // signal bars: per intersection, outbound just below its line, inbound just above
    for (i, name) in cp.names.iter().enumerate() {
        let d = cp.positions_m[i];
        let off = cp.plans[i].offset_s;
        for (windows, dy) in [
            (&cp.outbound_windows[i], 2.0),
            (&cp.inbound_windows[i], -2.0 - BAR_H),
        ] {
            let y0 = y(d) + dy;
            let _ = writeln!(
                s,
                r#"<rect x="{LEFT}" y="{y0:.1}" width="{plot_w:.1}" height="{BAR_H}" fill="{RED}"/>"#
            );
            let mut k = -1.0;
            while k * c <= span_s {
                for w in windows.iter() {
                    bar(&mut s, x, w, off + k * c, y0);
                }
                k += 1.0;
            }
        }
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="#333" stroke-width="0.6"/>"##,
            y(d),
            LEFT + plot_w
        );
        let _ = name;
    }
    s.push_str("</g>\n");

    // labels: name and distance on the left, timing on the right
    for (i, name) in cp.names.iter().enumerate() {
        let d = cp.positions_m[i];
        let p = &cp.plans[i];
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" font-size="14" font-weight="bold" text-anchor="end">{}</text>"#,
            LEFT - 10.0,
            y(d) - 2.0,
            svg_escape(name)
        );
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" font-size="12" fill="#555" text-anchor="end">{d:.0} m · in ↓ / out ↑</text>"##,
            LEFT - 10.0,
            y(d) + 13.0
        );
        let splits = p
            .stages
            .iter()
            .map(|s| format!("{:.0}", s.split_s))
            .collect::<Vec<_>>()
            .join("/");
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" font-size="12">offset {:.0} s · splits {splits} s</text>"#,
            LEFT + plot_w + 10.0,
            y(d) + 4.0,
            p.offset_s
        );
    }
    // band labels in the middle of the widest gap between two intersections, clear of the bars
    let gap_mid_m = cp
        .positions_m
        .windows(2)
        .max_by(|a, b| (a[1] - a[0]).total_cmp(&(b[1] - b[0])))
        .map_or(total_m / 2.0, |w| (w[0] + w[1]) / 2.0);
    let label = |s: &mut String, start: f64, b: f64, outbound: bool| {
        if b <= 0.0 {
            return;
        }
        let mut t0 = start;
        while t0 + b + travel_s > span_s && t0 > c {
            t0 -= c;
        }
        let frac = gap_mid_m / total_m;
        let (tx, ty, fill, text) = if outbound {
            (
                t0 + b / 2.0 + travel_s * frac,
                gap_mid_m,
                OUT_FILL,
                format!("outbound band {b:.0} s ↑"),
            )
        } else {
            (
                t0 + b / 2.0 + travel_s * (1.0 - frac),
                gap_mid_m,
                IN_FILL,
                format!("inbound band {b:.0} s ↓"),
            )
        };
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" font-size="13" font-weight="bold" fill="{fill}" text-anchor="middle" stroke="white" stroke-width="3" paint-order="stroke">{text}</text>"#,
            x(tx),
            y(ty) + if outbound { -4.0 } else { 14.0 }
        );
    };
    label(&mut s, cp.band_out_start_s, cp.band_out_s, true);
    label(&mut s, cp.band_in_start_s, cp.band_in_s, false);

    // legend
    let lx = LEFT + plot_w + 10.0;
    let ly = H - BOTTOM - 150.0;
    let _ = writeln!(
        s,
        r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="150" fill="white" stroke="#999"/>"##,
        lx - 4.0,
        ly - 18.0,
        RIGHT - 16.0
    );
    let _ = writeln!(
        s,
        r#"<text x="{lx:.1}" y="{ly:.1}" font-size="13" font-weight="bold">Legend</text>"#
    );
    let items = [
        (GREEN, "green (corridor through)", false),
        (YELLOW, "yellow change", false),
        (RED, "red", false),
        (OUT_FILL, "outbound green band ↑", true),
        (IN_FILL, "inbound green band ↓", true),
    ];
    for (k, (fill, text, band)) in items.iter().enumerate() {
        let yy = ly + 14.0 + k as f64 * 22.0;
        let op = if *band { "0.35" } else { "1" };
        let _ = writeln!(
            s,
            r#"<rect x="{lx:.1}" y="{yy:.1}" width="26" height="12" fill="{fill}" fill-opacity="{op}"/><text x="{:.1}" y="{:.1}" font-size="12">{text}</text>"#,
            lx + 34.0,
            yy + 11.0
        );
    }
    let _ = writeln!(
        s,
        r##"<text x="{lx:.1}" y="{:.1}" font-size="11" fill="#555">lower bar: outbound, upper: inbound</text>"##,
        ly + 14.0 + 5.0 * 22.0 + 6.0
    );
    s.push_str("</svg>\n");
    s
}

/// `HH:MM` of a time of day in seconds.
fn clock(t_s: f64) -> String {
    let m = (t_s / 60.0).floor() as i64;
    format!("{:02}:{:02}", m.div_euclid(60) % 24, m.rem_euclid(60))
}

fn bar(s: &mut String, x: impl Fn(f64) -> f64, w: &Window, shift_s: f64, y0: f64) {
    let t0 = w.start_s + shift_s;
    let _ = writeln!(
        s,
        r#"<rect x="{:.1}" y="{y0:.1}" width="{:.1}" height="{BAR_H}" fill="{GREEN}"/>"#,
        x(t0),
        (x(t0 + w.green_s) - x(t0)).max(0.0)
    );
    let _ = writeln!(
        s,
        r#"<rect x="{:.1}" y="{y0:.1}" width="{:.1}" height="{BAR_H}" fill="{YELLOW}"/>"#,
        x(t0 + w.green_s),
        (x(t0 + w.green_s + w.yellow_s) - x(t0 + w.green_s)).max(0.0)
    );
}

#[cfg(test)]
mod escape_tests {
    #[test]
    fn svg_escape_covers_markup_and_both_quotes() {
        assert_eq!(
            super::svg_escape(r#"Oak & 5th <"main"> O'Neil"#),
            "Oak &amp; 5th &lt;&quot;main&quot;&gt; O&apos;Neil"
        );
    }
}
