//! Shared fixtures for the adaptive tests: a generated corridor network in `intersections.toml`
//! form, with chosen stage limits.
#![allow(
    dead_code,
    reason = "shared by several test or example binaries, each using a different part"
)]

use roadnet::RoadNet;

/// Timing limits written into every stage of the generated network.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub min_green_s: f64,
    pub max_green_s: f64,
    pub yellow_s: f64,
    pub all_red_s: f64,
    pub ped_walk_s: f64,
    pub ped_clearance_s: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            min_green_s: 7.0,
            max_green_s: 60.0,
            yellow_s: 4.0,
            all_red_s: 2.0,
            ped_walk_s: 7.0,
            ped_clearance_s: 10.0,
        }
    }
}

/// A west–east corridor of `n` four-leg signalized intersections `X0..`, spaced `spacing_m`,
/// with boundary nodes at both ends and on every side street. Each approach has a left lane and
/// a through-right lane. `four_stage` = protected lefts in stages of their own; otherwise lefts
/// are permissive in the through stage.
pub(crate) fn corridor_toml(n: usize, spacing_m: f64, four_stage: bool, lim: &Limits) -> String {
    let mut s = String::from("name = \"gen\"\n");
    let stage_lim = format!(
        "min_green_s = {}\nmax_green_s = {}\nyellow_s = {}\nall_red_s = {}\nped_walk_s = {}\nped_clearance_s = {}\n",
        lim.min_green_s, lim.max_green_s, lim.yellow_s, lim.all_red_s, lim.ped_walk_s, lim.ped_clearance_s
    );
    let x = |i: usize| i as f64 * spacing_m;
    s += &format!(
        "[[intersection]]\nid = \"W\"\nkind = \"boundary\"\nx_m = {}\ny_m = 0\n",
        -spacing_m
    );
    s += &format!(
        "[[intersection]]\nid = \"E\"\nkind = \"boundary\"\nx_m = {}\ny_m = 0\n",
        x(n - 1) + spacing_m
    );
    for i in 0..n {
        s += &format!(
            "[[intersection]]\nid = \"N{i}\"\nkind = \"boundary\"\nx_m = {}\ny_m = 300\n",
            x(i)
        );
        s += &format!(
            "[[intersection]]\nid = \"S{i}\"\nkind = \"boundary\"\nx_m = {}\ny_m = -300\n",
            x(i)
        );
    }
    let west = |i: usize| {
        if i == 0 {
            "W".to_string()
        } else {
            format!("X{}", i - 1)
        }
    };
    let east = |i: usize| {
        if i + 1 == n {
            "E".to_string()
        } else {
            format!("X{}", i + 1)
        }
    };
    for i in 0..n {
        s += &format!(
            "[[intersection]]\nid = \"X{i}\"\nx_m = {}\ny_m = 0\ncontroller = {{ host = \"127.0.0.1\", port = 502, unit_id = {} }}\n",
            x(i),
            i + 1
        );
        let (wi, ei, ni, si) = (
            format!("{}_X{i}", west(i)),
            format!("{}_X{i}", east(i)),
            format!("N{i}_X{i}"),
            format!("S{i}_X{i}"),
        );
        let perm = if four_stage { "false" } else { "true" };
        s += &format!(
            "[[intersection.signal_group]]\nid = \"ew\"\nmovements = [\"{wi}:T\", \"{wi}:R\", \"{ei}:T\", \"{ei}:R\"]\n\
             [[intersection.signal_group]]\nid = \"ewl\"\nmovements = [\"{wi}:L\", \"{ei}:L\"]\npermissive = {perm}\n\
             [[intersection.signal_group]]\nid = \"ns\"\nmovements = [\"{ni}:T\", \"{ni}:R\", \"{si}:T\", \"{si}:R\"]\n\
             [[intersection.signal_group]]\nid = \"nsl\"\nmovements = [\"{ni}:L\", \"{si}:L\"]\npermissive = {perm}\n"
        );
        if four_stage {
            for (id, g) in [("ew", "ew"), ("ewl", "ewl"), ("ns", "ns"), ("nsl", "nsl")] {
                s += &format!(
                    "[[intersection.stage]]\nid = \"{id}\"\ngroups = [\"{g}\"]\n{stage_lim}"
                );
            }
        } else {
            s += &format!(
                "[[intersection.stage]]\nid = \"ew\"\ngroups = [\"ew\", \"ewl\"]\n{stage_lim}"
            );
            s += &format!(
                "[[intersection.stage]]\nid = \"ns\"\ngroups = [\"ns\", \"nsl\"]\n{stage_lim}"
            );
        }
    }
    let lanes = "lanes = [{ turns = \"L\" }, { turns = \"TR\" }]\n";
    let mut road = |a: &str, b: &str| {
        s += &format!("[[road]]\nid = \"{a}_{b}\"\nfrom = \"{a}\"\nto = \"{b}\"\n{lanes}");
    };
    for i in 0..n {
        let xi = format!("X{i}");
        road(&west(i), &xi);
        road(&xi, &west(i));
        road(&format!("N{i}"), &xi);
        road(&xi, &format!("N{i}"));
        road(&format!("S{i}"), &xi);
        road(&xi, &format!("S{i}"));
    }
    road("E", &format!("X{}", n - 1));
    road(&format!("X{}", n - 1), "E");
    let names: Vec<String> = (0..n).map(|i| format!("\"X{i}\"")).collect();
    s += &format!(
        "[[corridor]]\nname = \"main\"\nintersections = [{}]\n",
        names.join(", ")
    );
    s
}

pub(crate) fn corridor_net(n: usize, spacing_m: f64, four_stage: bool, lim: &Limits) -> RoadNet {
    let text = corridor_toml(n, spacing_m, four_stage, lim);
    roadnet::config::parse_toml(&text, "gen.toml").unwrap_or_else(|e| panic!("{e}\n{text}"))
}
