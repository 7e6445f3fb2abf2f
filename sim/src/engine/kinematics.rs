//! Longitudinal kinematics as pure functions of speeds, distances and the step `dt`: CityFlow's
//! formulas (`docs/cityflow-model.md` §4.1 and §6.3), kept bit-for-bit, quirks included,
//! because the Jinan figures depend on them to the hundredth of a second.

/// Distance to stop from `speed` braking at `max_decel`, m: v² / (2·d).
#[inline]
pub(super) fn min_brake_distance_m(speed: f64, max_decel: f64) -> f64 {
    speed * speed / max_decel / 2.0
}

/// CityFlow's no-collision speed: the highest speed this step after which the follower
/// (speed `v_f`, braking `d_f`) can still stop behind a leader (speed `v_l`) braking at `d_l`,
/// keeping `target_gap`, from a current `gap`. Returns −100 when no speed is safe — a
/// negative speed makes the caller brake as hard as it may (see `Simulation::actions`).
#[inline]
pub(super) fn no_collision_speed(
    v_l: f64,
    d_l: f64,
    v_f: f64,
    d_f: f64,
    gap: f64,
    dt: f64,
    target_gap: f64,
) -> f64 {
    let c = v_f * dt / 2.0 + target_gap - 0.5 * v_l * v_l / d_l - gap;
    let a = 0.5 / d_f;
    let b = 0.5 * dt;
    if b * b < 4.0 * a * c {
        return -100.0;
    }
    let v1 = 0.5 / a * ((b * b - 4.0 * a * c).sqrt() - b);
    let v2 = 2.0 * v_l - d_l * dt + 2.0 * (gap - target_gap) / dt;
    v1.min(v2)
}

/// Speed for this step that stops the vehicle within `distance` m. If it can still accelerate
/// by `usual_acc` and then stop at `usual_dec` in time, it does. Otherwise it plans to stop in
/// k = ⌊2·distance / (v·dt)⌋ steps of uniform deceleration and takes the first of them:
/// CityFlow truncates k to whole steps, which gives its characteristic stepwise braking. With
/// k < 1 the result is negative, which forces the hardest allowed stop.
#[inline]
pub(super) fn stop_before_speed(
    speed: f64,
    usual_acc: f64,
    usual_dec: f64,
    distance: f64,
    dt: f64,
) -> f64 {
    let next = speed + usual_acc * dt;
    let brake_after = (speed + next) * dt / 2.0 + next * next / usual_dec / 2.0;
    if brake_after < distance {
        return next;
    }
    // The 1e-8 keeps a standing vehicle (speed 0) from dividing by zero, as in CityFlow.
    let k = 2.0 * distance / (speed + 1e-8) / dt;
    if k >= 1.0 {
        speed - speed / k.floor()
    } else {
        speed - speed / k
    }
}

/// CityFlow's `reachSteps`: whole steps to cover `dist` m from `speed`, accelerating at `acc`
/// toward `target` speed. Used only to compare two vehicles approaching a conflict point.
pub(super) fn reach_steps(speed: f64, dist: f64, target: f64, acc: f64, dt: f64) -> i64 {
    if dist <= 0.0 {
        return 0;
    }
    if speed > target {
        // CityFlow divides by the speed only, not by dt: steps and seconds agree at dt = 1,
        // and the Jinan figures were made at dt = 1, so the quirk is kept.
        return (dist / speed).ceil() as i64;
    }
    // Distance covered until reaching `target`. CityFlow writes the speed after n steps as
    // v + n·a/dt where physics says v + n·a·dt; the two agree at dt = 1 and the Jinan figures
    // were made at dt = 1, so the formula is kept as CityFlow has it.
    let until = if target <= speed {
        0.0
    } else {
        let n = ((target - speed) / acc / dt).floor();
        let s1 = speed + n * acc / dt;
        let d1 = (speed + s1) * (n * dt) / 2.0;
        d1 + if s1 < target {
            (s1 + target) * dt / 2.0
        } else {
            0.0
        }
    };
    if until > dist {
        (((speed * speed + 2.0 * acc * dist).sqrt() - speed) / acc / dt).ceil() as i64
    } else {
        ((target - speed) / acc / dt).ceil() as i64 + ((dist - until) / target / dt).ceil() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brake_distance_is_v_squared_over_2d() {
        // 11.111² / 9 = 13.717 m (the Jinan figure in docs/cityflow-model.md §0).
        assert!((min_brake_distance_m(11.111, 4.5) - 13.71713).abs() < 1e-4);
        assert_eq!(min_brake_distance_m(0.0, 4.5), 0.0);
    }

    #[test]
    fn no_collision_speed_against_a_standing_leader() {
        // Leader stopped (v_l = 0), follower at 10 m/s, d = 4.5, gap 20 m, dt 1, no target gap.
        // c = 10/2 + 0 − 0 − 20 = −15, a = 1/9, b = 0.5:
        // v1 = 4.5·(√(0.25 + 4·15/9) − 0.5) = 4.5·(2.62996 − 0.5) = 9.5848;
        // v2 = 0 − 4.5 + 2·20 = 35.5 → 9.5848.
        let v = no_collision_speed(0.0, 4.5, 10.0, 4.5, 20.0, 1.0, 0.0);
        let v1 = 4.5 * ((0.25f64 + 60.0 / 9.0).sqrt() - 0.5);
        assert!((v - v1).abs() < 1e-12);
        assert!((v - 9.5848).abs() < 1e-3);
        // Gap too small to stop at all: b² < 4ac → −100.
        // c = 5 + 10 − 0 − 0 = 15 > 0 with gap 0 and target gap 10.
        assert_eq!(
            no_collision_speed(0.0, 4.5, 10.0, 4.5, 0.0, 1.0, 10.0),
            -100.0
        );
    }

    #[test]
    fn no_collision_speed_v2_binds_for_a_short_gap_behind_a_fast_leader() {
        // Leader 10 m/s braking 4.5, follower 10 m/s, gap 1 m, target 0:
        // c = 5 − 100/9 − 1 = −7.111, v1 = 4.5·(√(0.25 + 4·7.111/9) − 0.5) = 6.0866,
        // v2 = 20 − 4.5 + 2 = 17.5 → v1. With gap 1 and a leader at 1 m/s:
        // v2 = 2 − 4.5 + 2 = −0.5 < v1 → −0.5.
        let v = no_collision_speed(10.0, 4.5, 10.0, 4.5, 1.0, 1.0, 0.0);
        assert!(
            (v - 4.5 * ((0.25f64 + 4.0 * (100.0 / 9.0 - 4.0) / 9.0).sqrt() - 0.5)).abs() < 1e-12
        );
        let w = no_collision_speed(1.0, 4.5, 1.0, 4.5, 1.0, 1.0, 0.0);
        assert!((w - (-0.5)).abs() < 1e-12);
    }

    #[test]
    fn stop_before_speed_accelerates_when_there_is_room() {
        // From 4 m/s: next = 6, brake-after = (4 + 6)/2 + 36/9 = 9 m < 20 m → 6.
        assert_eq!(stop_before_speed(4.0, 2.0, 4.5, 20.0, 1.0), 6.0);
    }

    #[test]
    fn stop_before_speed_brakes_in_whole_steps() {
        // From 10 m/s with 28 m left: brake-after = (10 + 12)/2 + 144/9 = 27 < 28 → accelerate to 12.
        assert_eq!(stop_before_speed(10.0, 2.0, 4.5, 28.0, 1.0), 12.0);
        // With 16 m left: 27 ≥ 16; k = 2·16/10 = 3.2, truncated to 3 → 10 − 10/3.
        let v = stop_before_speed(10.0, 2.0, 4.5, 16.0, 1.0);
        assert!((v - (10.0 - 10.0 / 3.0)).abs() < 1e-6);
        // With 17 m left: k = 3.4, truncated to 3 → the same speed (the stepwise quirk).
        let w = stop_before_speed(10.0, 2.0, 4.5, 17.0, 1.0);
        assert!((w - v).abs() < 1e-6);
        // With 4 m left: k = 0.8 < 1 → 10 − 10/0.8 = −2.5 (forces the hardest stop).
        let x = stop_before_speed(10.0, 2.0, 4.5, 4.0, 1.0);
        assert!((x - (-2.5)).abs() < 1e-6);
    }

    #[test]
    fn reach_steps_hand_checked() {
        assert_eq!(reach_steps(5.0, 0.0, 11.111, 2.0, 1.0), 0);
        // Faster than the target: ⌈30 / 10⌉ = 3 at 10 m/s toward 8.3333.
        assert_eq!(reach_steps(10.0, 30.0, 8.3333, 2.0, 1.0), 3);
        // From 0 toward 8.3333 at 2 m/s²: n = ⌊4.1667⌋ = 4, s1 = 8, d1 = 8·4/2 = 16,
        // + (8 + 8.3333)/2 = 24.1667 m to reach the target. 10 m < that:
        // ⌈(√(0 + 40) − 0) / 2⌉ = ⌈3.162⌉ = 4.
        assert_eq!(reach_steps(0.0, 10.0, 8.3333, 2.0, 1.0), 4);
        // 50 m: ⌈8.3333/2⌉ = 5 steps to the target + ⌈(50 − 24.1667)/8.3333⌉ = ⌈3.1⌉ = 4 → 9.
        assert_eq!(reach_steps(0.0, 50.0, 8.3333, 2.0, 1.0), 9);
    }
}
