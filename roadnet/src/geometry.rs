//! Plane geometry in metres: points, polylines, offsets and segment crossings. Right-hand traffic.

use serde::{Deserialize, Serialize};

/// A point in the network's local plane, metres (x east, y north).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct Point {
    pub x_m: f64,
    pub y_m: f64,
}

impl Point {
    pub const fn new(x_m: f64, y_m: f64) -> Self {
        Self { x_m, y_m }
    }
    pub fn distance(self, other: Point) -> f64 {
        ((self.x_m - other.x_m).powi(2) + (self.y_m - other.y_m).powi(2)).sqrt()
    }
    pub fn lerp(self, other: Point, t: f64) -> Point {
        Point::new(
            self.x_m + (other.x_m - self.x_m) * t,
            self.y_m + (other.y_m - self.y_m) * t,
        )
    }
}

/// Total length of a polyline, metres.
pub fn polyline_length(points: &[Point]) -> f64 {
    points.windows(2).map(|w| w[0].distance(w[1])).sum()
}

/// The point at `distance_m` along a polyline (clamped to its ends).
pub fn point_along(points: &[Point], distance_m: f64) -> Point {
    let mut left = distance_m.max(0.0);
    for w in points.windows(2) {
        let seg = w[0].distance(w[1]);
        if left <= seg && seg > 0.0 {
            return w[0].lerp(w[1], left / seg);
        }
        left -= seg;
    }
    points.last().copied().unwrap_or_default()
}

/// Heading of the segment a→b, radians counter-clockwise from east.
pub fn heading(a: Point, b: Point) -> f64 {
    (b.y_m - a.y_m).atan2(b.x_m - a.x_m)
}

/// Shift a polyline sideways by `offset_m` to the right of its direction of travel.
pub fn offset_right(points: &[Point], offset_m: f64) -> Vec<Point> {
    let n = points.len();
    (0..n)
        .map(|i| {
            let (a, b) = if i + 1 < n {
                (points[i], points[i + 1])
            } else {
                (points[i - 1], points[i])
            };
            let len = a.distance(b).max(1e-9);
            // Right normal of (dx, dy) is (dy, -dx).
            let nx = (b.y_m - a.y_m) / len;
            let ny = -(b.x_m - a.x_m) / len;
            Point::new(points[i].x_m + nx * offset_m, points[i].y_m + ny * offset_m)
        })
        .collect()
}

/// Cut `start_m` off the start and `end_m` off the end of a polyline (an intersection's area).
pub fn trim(points: &[Point], start_m: f64, end_m: f64) -> Vec<Point> {
    let total = polyline_length(points);
    let (a, b) = (
        start_m.max(0.0),
        (total - end_m.max(0.0)).max(start_m.max(0.0)),
    );
    let mut out = vec![point_along(points, a)];
    let mut acc = 0.0;
    for w in points.windows(2) {
        acc += w[0].distance(w[1]);
        if acc > a && acc < b {
            out.push(w[1]);
        }
    }
    out.push(point_along(points, b));
    out
}

/// Where two segments p1–p2 and q1–q2 cross properly (not at shared end points), as the
/// fractions along each.
pub fn segment_crossing(p1: Point, p2: Point, q1: Point, q2: Point) -> Option<(f64, f64)> {
    let r = (p2.x_m - p1.x_m, p2.y_m - p1.y_m);
    let s = (q2.x_m - q1.x_m, q2.y_m - q1.y_m);
    let denom = r.0 * s.1 - r.1 * s.0;
    if denom.abs() < 1e-12 {
        return None; // parallel or collinear: treated as no crossing (merges are handled apart)
    }
    let qp = (q1.x_m - p1.x_m, q1.y_m - p1.y_m);
    let t = (qp.0 * s.1 - qp.1 * s.0) / denom;
    let u = (qp.0 * r.1 - qp.1 * r.0) / denom;
    const EPS: f64 = 1e-6;
    (t > EPS && t < 1.0 - EPS && u > EPS && u < 1.0 - EPS).then_some((t, u))
}

/// First proper crossing of two polylines: the distances along each, metres.
pub fn polyline_crossing(a: &[Point], b: &[Point]) -> Option<(f64, f64)> {
    let mut da = 0.0;
    for wa in a.windows(2) {
        let la = wa[0].distance(wa[1]);
        let mut db = 0.0;
        for wb in b.windows(2) {
            let lb = wb[0].distance(wb[1]);
            if let Some((t, u)) = segment_crossing(wa[0], wa[1], wb[0], wb[1]) {
                return Some((da + t * la, db + u * lb));
            }
            db += lb;
        }
        da += la;
    }
    None
}

/// A smooth connector from the end of one lane to the start of another (quadratic Bézier
/// through the intersection of the two headings), used when a config gives no shape.
pub fn connector(from: Point, from_heading: f64, to: Point, to_heading: f64) -> Vec<Point> {
    let dir_a = (from_heading.cos(), from_heading.sin());
    let dir_b = (to_heading.cos(), to_heading.sin());
    let denom = dir_a.0 * dir_b.1 - dir_a.1 * dir_b.0;
    let control = if denom.abs() < 1e-6 {
        from.lerp(to, 0.5)
    } else {
        let qp = (to.x_m - from.x_m, to.y_m - from.y_m);
        let t = (qp.0 * dir_b.1 - qp.1 * dir_b.0) / denom;
        if t <= 0.0 {
            from.lerp(to, 0.5)
        } else {
            Point::new(from.x_m + dir_a.0 * t, from.y_m + dir_a.1 * t)
        }
    };
    const STEPS: usize = 10;
    (0..=STEPS)
        .map(|i| {
            let t = i as f64 / STEPS as f64;
            let a = from.lerp(control, t);
            let b = control.lerp(to, t);
            a.lerp(b, t)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossing_of_a_plus() {
        let h = [Point::new(-1.0, 0.0), Point::new(1.0, 0.0)];
        let v = [Point::new(0.0, -1.0), Point::new(0.0, 1.0)];
        let (a, b) = polyline_crossing(&h, &v).unwrap();
        assert!((a - 1.0).abs() < 1e-9 && (b - 1.0).abs() < 1e-9);
        let parallel = [Point::new(-1.0, 1.0), Point::new(1.0, 1.0)];
        assert!(polyline_crossing(&h, &parallel).is_none());
    }

    #[test]
    fn offset_is_to_the_right() {
        let east = [Point::new(0.0, 0.0), Point::new(10.0, 0.0)];
        let o = offset_right(&east, 2.0);
        assert!((o[0].y_m + 2.0).abs() < 1e-9);
    }

    #[test]
    fn trim_cuts_both_ends() {
        let line = [Point::new(0.0, 0.0), Point::new(100.0, 0.0)];
        let t = trim(&line, 10.0, 15.0);
        assert!((polyline_length(&t) - 75.0).abs() < 1e-9);
    }
}
