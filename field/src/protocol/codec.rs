//! The pure half of the field link: plan ↔ registers, status ↔ registers, detector blocks,
//! CRC-16 and wrapping counters. No I/O, no clocks; both the emulator and the central use it.

use super::regmap::{self, hr, ir, RejectCode, MAX_GROUPS, MAX_PLAN_STAGES};
use roadnet::{
    DetectorId, Indication, IntersectionId, RoadNet, SignalPlan, StageId, StageLimits, StageSplit,
};

/// Why a plan cannot be put into registers (a central-side problem; nothing was sent).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CodecError {
    #[error("{what} = {value} s is not a whole number of deciseconds in 0..=6553.5 s")]
    NotDeciseconds { what: String, value: f64 },
    #[error("the plan has {0} stages; the register map holds at most {MAX_PLAN_STAGES}")]
    TooManyStages(usize),
    #[error("the intersection has {0} signal groups; the register map holds at most {MAX_GROUPS}")]
    TooManyGroups(usize),
    #[error("{0} is not a stage of the plan's intersection")]
    ForeignStage(StageId),
    #[error("{0} has no field controller or is not signalized")]
    NotSignalized(IntersectionId),
    #[error("expected {expected} registers, got {got}")]
    Length { expected: usize, got: usize },
}

/// CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF) over the registers, each as two bytes,
/// high byte first.
pub fn crc16(words: impl IntoIterator<Item = u16>) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for w in words {
        for b in w.to_be_bytes() {
            crc ^= b as u16;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xA001
                } else {
                    crc >> 1
                };
            }
        }
    }
    crc
}

/// Seconds → deciseconds, refusing values that are not a whole number of ds or do not fit a u16.
pub fn secs_to_ds(what: &str, s: f64) -> Result<u16, CodecError> {
    let ds = s * 10.0;
    let r = ds.round();
    if !s.is_finite() || (ds - r).abs() > 1e-3 || !(0.0..=u16::MAX as f64).contains(&r) {
        return Err(CodecError::NotDeciseconds {
            what: what.to_string(),
            value: s,
        });
    }
    Ok(r as u16)
}

pub fn ds_to_secs(ds: u16) -> f64 {
    ds as f64 / 10.0
}

pub fn split_u32(v: u32) -> [u16; 2] {
    [(v >> 16) as u16, v as u16]
}

pub fn join_u32(hi: u16, lo: u16) -> u32 {
    ((hi as u32) << 16) | lo as u32
}

/// One stage block of the plan area.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct StageBlock {
    /// 1-based position of the stage in the intersection's stage list.
    pub number: u16,
    /// Signal groups green in the stage: bit i = the intersection's i-th signal group.
    pub groups_mask: u32,
    pub split_ds: u16,
    pub min_green_ds: u16,
    pub max_green_ds: u16,
    pub yellow_ds: u16,
    pub all_red_ds: u16,
    pub ped_walk_ds: u16,
    pub ped_clearance_ds: u16,
}

impl StageBlock {
    pub fn limits(&self) -> StageLimits {
        StageLimits {
            min_green_s: ds_to_secs(self.min_green_ds),
            max_green_s: ds_to_secs(self.max_green_ds),
            yellow_s: ds_to_secs(self.yellow_ds),
            all_red_s: ds_to_secs(self.all_red_ds),
            ped_walk_s: ds_to_secs(self.ped_walk_ds),
            ped_clearance_s: ds_to_secs(self.ped_clearance_ds),
        }
    }

    fn to_words(self) -> [u16; hr::STAGE_BLOCK as usize] {
        let [gh, gl] = split_u32(self.groups_mask);
        [
            self.number,
            gh,
            gl,
            self.split_ds,
            self.min_green_ds,
            self.max_green_ds,
            self.yellow_ds,
            self.all_red_ds,
            self.ped_walk_ds,
            self.ped_clearance_ds,
        ]
    }

    fn from_words(w: &[u16]) -> StageBlock {
        StageBlock {
            number: w[hr::ST_NUMBER as usize],
            groups_mask: join_u32(w[hr::ST_GROUPS_HI as usize], w[hr::ST_GROUPS_LO as usize]),
            split_ds: w[hr::ST_SPLIT_DS as usize],
            min_green_ds: w[hr::ST_MIN_GREEN_DS as usize],
            max_green_ds: w[hr::ST_MAX_GREEN_DS as usize],
            yellow_ds: w[hr::ST_YELLOW_DS as usize],
            all_red_ds: w[hr::ST_ALL_RED_DS as usize],
            ped_walk_ds: w[hr::ST_PED_WALK_DS as usize],
            ped_clearance_ds: w[hr::ST_PED_CLEAR_DS as usize],
        }
    }
}

/// The plan area as registers describe it: what the central writes and the field decodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanRegisters {
    pub seq: u32,
    pub cycle_ds: u16,
    pub offset_ds: u16,
    pub stages: Vec<StageBlock>,
}

/// Number of plan-area registers (from [`hr::PLAN_BASE`]) a plan with `n` stages uses.
pub fn plan_len(n: usize) -> usize {
    (hr::STAGE_BASE - hr::PLAN_BASE) as usize + hr::STAGE_BLOCK as usize * n
}

/// CRC of a plan area given as registers from [`hr::PLAN_BASE`] (length [`plan_len`]): every
/// register except the checksum register itself.
pub fn plan_crc(area: &[u16]) -> u16 {
    let ck = (hr::PLAN_CHECKSUM - hr::PLAN_BASE) as usize;
    crc16(
        area.iter()
            .enumerate()
            .filter(|(i, _)| *i != ck)
            .map(|(_, w)| *w),
    )
}

/// Signal-group bit mask of a stage in the field's own network.
pub use roadnet::timing::stage_groups_mask;

impl PlanRegisters {
    /// Put a plan into registers, with the stage definitions (groups and limits) taken from `net`.
    pub fn from_plan(net: &RoadNet, seq: u32, plan: &SignalPlan) -> Result<Self, CodecError> {
        if plan.intersection.index() >= net.intersections.len() {
            return Err(CodecError::NotSignalized(plan.intersection));
        }
        let inter = net.intersection(plan.intersection);
        if inter.signal_groups.len() > MAX_GROUPS {
            return Err(CodecError::TooManyGroups(inter.signal_groups.len()));
        }
        if plan.stages.len() > MAX_PLAN_STAGES {
            return Err(CodecError::TooManyStages(plan.stages.len()));
        }
        let mut stages = Vec::with_capacity(plan.stages.len());
        for s in &plan.stages {
            let pos = inter
                .stages
                .iter()
                .position(|x| *x == s.stage)
                .ok_or(CodecError::ForeignStage(s.stage))?;
            let lim = net.stage(s.stage).limits;
            stages.push(StageBlock {
                number: pos as u16 + 1,
                groups_mask: stage_groups_mask(net, s.stage),
                split_ds: secs_to_ds("split", s.split_s)?,
                min_green_ds: secs_to_ds("min green", lim.min_green_s)?,
                max_green_ds: secs_to_ds("max green", lim.max_green_s)?,
                yellow_ds: secs_to_ds("yellow", lim.yellow_s)?,
                all_red_ds: secs_to_ds("all-red", lim.all_red_s)?,
                ped_walk_ds: secs_to_ds("ped walk", lim.ped_walk_s)?,
                ped_clearance_ds: secs_to_ds("ped clearance", lim.ped_clearance_s)?,
            });
        }
        Ok(PlanRegisters {
            seq,
            cycle_ds: secs_to_ds("cycle", plan.cycle_s)?,
            offset_ds: secs_to_ds("offset", plan.offset_s)?,
            stages,
        })
    }

    /// The registers from [`hr::PLAN_BASE`], checksum filled in; length [`plan_len`].
    pub fn to_registers(&self) -> Vec<u16> {
        let [sh, sl] = split_u32(self.seq);
        let mut v = vec![
            sh,
            sl,
            self.cycle_ds,
            self.offset_ds,
            self.stages.len() as u16,
            0,
        ];
        for s in &self.stages {
            v.extend_from_slice(&s.to_words());
        }
        let ck = (hr::PLAN_CHECKSUM - hr::PLAN_BASE) as usize;
        v[ck] = plan_crc(&v);
        v
    }

    /// Decode the plan area (registers from [`hr::PLAN_BASE`], at least up to the stage count's
    /// last block). Checks the stage count and the checksum.
    pub fn decode(area: &[u16]) -> Result<PlanRegisters, RejectCode> {
        let n = *area
            .get((hr::PLAN_STAGE_COUNT - hr::PLAN_BASE) as usize)
            .ok_or(RejectCode::IncompletePlan)? as usize;
        if n == 0 || n > MAX_PLAN_STAGES {
            return Err(RejectCode::StageCountOutOfRange);
        }
        let len = plan_len(n);
        let area = area.get(..len).ok_or(RejectCode::IncompletePlan)?;
        if plan_crc(area) != area[(hr::PLAN_CHECKSUM - hr::PLAN_BASE) as usize] {
            return Err(RejectCode::ChecksumMismatch);
        }
        Ok(Self::decode_unchecked(area, n))
    }

    fn decode_unchecked(area: &[u16], n: usize) -> PlanRegisters {
        let base = (hr::STAGE_BASE - hr::PLAN_BASE) as usize;
        let blk = hr::STAGE_BLOCK as usize;
        PlanRegisters {
            seq: join_u32(area[0], area[1]),
            cycle_ds: area[(hr::PLAN_CYCLE_DS - hr::PLAN_BASE) as usize],
            offset_ds: area[(hr::PLAN_OFFSET_DS - hr::PLAN_BASE) as usize],
            stages: (0..n)
                .map(|i| StageBlock::from_words(&area[base + blk * i..base + blk * (i + 1)]))
                .collect(),
        }
    }

    /// The [`SignalPlan`] these registers describe for `intersection` of `net` (stage numbers
    /// resolved against the field's own stage list).
    pub fn to_signal_plan(
        &self,
        net: &RoadNet,
        intersection: IntersectionId,
    ) -> Result<SignalPlan, RejectCode> {
        let inter = net.intersection(intersection);
        let mut stages = Vec::with_capacity(self.stages.len());
        for b in &self.stages {
            let Some(stage) = (b.number as usize)
                .checked_sub(1)
                .and_then(|i| inter.stages.get(i))
            else {
                return Err(RejectCode::StageCountOutOfRange);
            };
            stages.push(StageSplit {
                stage: *stage,
                split_s: ds_to_secs(b.split_ds),
            });
        }
        Ok(SignalPlan {
            intersection,
            cycle_s: ds_to_secs(self.cycle_ds),
            offset_s: ds_to_secs(self.offset_ds),
            stages,
        })
    }
}

/// One detector's input registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DetectorBlock {
    /// Actuations since power-up, wrapping at 65536.
    pub count: u16,
    /// Occupied time since power-up, ds, wrapping at 65536.
    pub occupied_ds: u16,
    /// Occupancy over the source's last interval, per mille.
    pub occupancy_permille: u16,
    /// [`regmap::health`] bits.
    pub health: u16,
}

impl DetectorBlock {
    pub fn to_words(self) -> [u16; ir::DET_BLOCK as usize] {
        [
            self.count,
            self.occupied_ds,
            self.occupancy_permille,
            self.health,
        ]
    }
    pub fn from_words(w: &[u16]) -> DetectorBlock {
        DetectorBlock {
            count: w[ir::DET_COUNT as usize],
            occupied_ds: w[ir::DET_OCCUPIED_DS as usize],
            occupancy_permille: w[ir::DET_OCCUPANCY_PERMILLE as usize],
            health: w[ir::DET_HEALTH as usize],
        }
    }
}

/// Turns a wrapping 16-bit counter into an exact running total, as long as it is read at least
/// once per 65,536 increments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WrapCounter {
    last: Option<u16>,
    total: u64,
}

impl WrapCounter {
    /// Feed a reading; returns the increase since the previous reading (0 for the first one,
    /// which only sets the baseline).
    pub fn update(&mut self, raw: u16) -> u16 {
        let delta = match self.last {
            Some(prev) => raw.wrapping_sub(prev),
            None => 0,
        };
        self.last = Some(raw);
        self.total += delta as u64;
        delta
    }
    pub fn total(&self) -> u64 {
        self.total
    }
    /// The device restarted: its counter began again from 0, so the next reading is all new
    /// (not a wrap of the old count).
    pub fn restart(&mut self) {
        self.last = Some(0);
    }
}

/// The status area as a struct (input registers [`ir::MAP_VERSION`]..[`ir::STATUS_END`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FieldStatus {
    pub map_version: u16,
    pub device_magic: u16,
    pub unit_id: u16,
    pub stage_count: u16,
    pub group_count: u16,
    pub detector_count: u16,
    pub max_plan_stages: u16,
    pub local_cycle_ds: u16,
    pub field_time_ds: u32,
    /// Drawn afresh at every start of the field controller (see [`ir::BOOT_EPOCH_HI`]).
    pub boot_epoch: u32,
    /// Command-block writes refused as expired (wrapping).
    pub commands_expired: u16,
    pub active_seq: u32,
    pub active_source: u16,
    pub current_stage: u16,
    pub interval: u16,
    pub time_in_stage_ds: u16,
    pub time_in_interval_ds: u16,
    pub flags: u16,
    pub active_cycle_ds: u16,
    pub active_offset_ds: u16,
    pub committed_seq: u32,
    pub last_commit_seq: u32,
    pub last_commit_result: u16,
    pub last_reject_reason: u16,
    pub accept_count: u16,
    pub reject_count: u16,
    pub heartbeat_echo: u16,
    pub heartbeat_age_ds: u16,
    pub green_mask: u32,
    pub yellow_mask: u32,
    pub conflict_faults: u16,
    /// During a change interval, the stage that follows (1-based); 0 otherwise.
    pub next_stage: u16,
    /// See [`ir::GREEN_SHOWN_DS`].
    pub green_shown_ds: u16,
}

impl FieldStatus {
    pub fn to_registers(&self) -> Vec<u16> {
        let mut v = vec![0u16; ir::STATUS_END as usize];
        let mut put = |a: u16, x: u16| v[a as usize] = x;
        put(ir::MAP_VERSION, self.map_version);
        put(ir::DEVICE_MAGIC, self.device_magic);
        put(ir::UNIT_ID, self.unit_id);
        put(ir::STAGE_COUNT, self.stage_count);
        put(ir::GROUP_COUNT, self.group_count);
        put(ir::DETECTOR_COUNT, self.detector_count);
        put(ir::MAX_PLAN_STAGES, self.max_plan_stages);
        put(ir::LOCAL_CYCLE_DS, self.local_cycle_ds);
        let mut put32 = |a: u16, x: u32| {
            let [h, l] = split_u32(x);
            v[a as usize] = h;
            v[a as usize + 1] = l;
        };
        put32(ir::FIELD_TIME_HI, self.field_time_ds);
        put32(ir::BOOT_EPOCH_HI, self.boot_epoch);
        put32(ir::ACTIVE_SEQ_HI, self.active_seq);
        put32(ir::COMMITTED_SEQ_HI, self.committed_seq);
        put32(ir::LAST_COMMIT_SEQ_HI, self.last_commit_seq);
        put32(ir::GREEN_MASK_HI, self.green_mask);
        put32(ir::YELLOW_MASK_HI, self.yellow_mask);
        let mut put = |a: u16, x: u16| v[a as usize] = x;
        put(ir::ACTIVE_SOURCE, self.active_source);
        put(ir::CURRENT_STAGE, self.current_stage);
        put(ir::INTERVAL, self.interval);
        put(ir::TIME_IN_STAGE_DS, self.time_in_stage_ds);
        put(ir::TIME_IN_INTERVAL_DS, self.time_in_interval_ds);
        put(ir::STATUS_FLAGS, self.flags);
        put(ir::ACTIVE_CYCLE_DS, self.active_cycle_ds);
        put(ir::ACTIVE_OFFSET_DS, self.active_offset_ds);
        put(ir::LAST_COMMIT_RESULT, self.last_commit_result);
        put(ir::LAST_REJECT_REASON, self.last_reject_reason);
        put(ir::ACCEPT_COUNT, self.accept_count);
        put(ir::REJECT_COUNT, self.reject_count);
        put(ir::HEARTBEAT_ECHO, self.heartbeat_echo);
        put(ir::HEARTBEAT_AGE_DS, self.heartbeat_age_ds);
        put(ir::CONFLICT_FAULTS, self.conflict_faults);
        put(ir::NEXT_STAGE, self.next_stage);
        put(ir::GREEN_SHOWN_DS, self.green_shown_ds);
        put(ir::COMMANDS_EXPIRED, self.commands_expired);
        v
    }

    pub fn from_registers(v: &[u16]) -> Result<FieldStatus, CodecError> {
        if v.len() < ir::STATUS_END as usize {
            return Err(CodecError::Length {
                expected: ir::STATUS_END as usize,
                got: v.len(),
            });
        }
        let g = |a: u16| v[a as usize];
        let g32 = |a: u16| join_u32(v[a as usize], v[a as usize + 1]);
        Ok(FieldStatus {
            map_version: g(ir::MAP_VERSION),
            device_magic: g(ir::DEVICE_MAGIC),
            unit_id: g(ir::UNIT_ID),
            stage_count: g(ir::STAGE_COUNT),
            group_count: g(ir::GROUP_COUNT),
            detector_count: g(ir::DETECTOR_COUNT),
            max_plan_stages: g(ir::MAX_PLAN_STAGES),
            local_cycle_ds: g(ir::LOCAL_CYCLE_DS),
            field_time_ds: g32(ir::FIELD_TIME_HI),
            boot_epoch: g32(ir::BOOT_EPOCH_HI),
            commands_expired: g(ir::COMMANDS_EXPIRED),
            active_seq: g32(ir::ACTIVE_SEQ_HI),
            active_source: g(ir::ACTIVE_SOURCE),
            current_stage: g(ir::CURRENT_STAGE),
            interval: g(ir::INTERVAL),
            time_in_stage_ds: g(ir::TIME_IN_STAGE_DS),
            time_in_interval_ds: g(ir::TIME_IN_INTERVAL_DS),
            flags: g(ir::STATUS_FLAGS),
            active_cycle_ds: g(ir::ACTIVE_CYCLE_DS),
            active_offset_ds: g(ir::ACTIVE_OFFSET_DS),
            committed_seq: g32(ir::COMMITTED_SEQ_HI),
            last_commit_seq: g32(ir::LAST_COMMIT_SEQ_HI),
            last_commit_result: g(ir::LAST_COMMIT_RESULT),
            last_reject_reason: g(ir::LAST_REJECT_REASON),
            accept_count: g(ir::ACCEPT_COUNT),
            reject_count: g(ir::REJECT_COUNT),
            heartbeat_echo: g(ir::HEARTBEAT_ECHO),
            heartbeat_age_ds: g(ir::HEARTBEAT_AGE_DS),
            green_mask: g32(ir::GREEN_MASK_HI),
            yellow_mask: g32(ir::YELLOW_MASK_HI),
            conflict_faults: g(ir::CONFLICT_FAULTS),
            next_stage: g(ir::NEXT_STAGE),
            green_shown_ds: g(ir::GREEN_SHOWN_DS),
        })
    }

    /// The reason of the last commit, `None` when it was accepted.
    pub fn last_commit_rejection(&self) -> Option<RejectCode> {
        match self.last_commit_result {
            0 => None,
            c => Some(RejectCode::from_code(c).unwrap_or(RejectCode::CommitMismatch)),
        }
    }

    pub fn is_fallback(&self) -> bool {
        self.flags & regmap::flags::FALLBACK != 0
    }
}

/// The one reading of the field's lamp masks (bit i = signal group i, in the intersection's
/// order), used by the field itself and by the central reading its status: green bits show
/// `g` for a permissive group and `G` otherwise, yellow bits `y`, every other group `r`.
pub fn indications_from_masks(
    green_mask: u32,
    yellow_mask: u32,
    permissive: &[bool],
) -> Vec<Indication> {
    permissive
        .iter()
        .enumerate()
        .map(|(i, perm)| {
            let bit = 1u32 << i.min(31);
            if green_mask & bit != 0 {
                if *perm {
                    Indication::PermissiveGreen
                } else {
                    Indication::Green
                }
            } else if yellow_mask & bit != 0 {
                Indication::Yellow
            } else {
                Indication::Red
            }
        })
        .collect()
}

/// The detectors a field controller reports, in register order: those on lanes of roads that
/// end at the intersection, in network order.
pub fn field_detectors(net: &RoadNet, id: IntersectionId) -> Vec<DetectorId> {
    net.detectors
        .iter()
        .filter(|d| net.road(net.lane(d.lane).road).to == id)
        .map(|d| d.id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_modbus_check_value() {
        // The standard check: CRC-16/MODBUS of "123456789" is 0x4B37.
        let bytes = b"123456789";
        let mut crc: u16 = 0xFFFF;
        for b in bytes {
            crc ^= *b as u16;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xA001
                } else {
                    crc >> 1
                };
            }
        }
        assert_eq!(crc, 0x4B37);
        // Words feed high byte first: 0x3132 0x3334 … equals the byte string "1234".
        assert_eq!(crc16([0x3132, 0x3334]), {
            let mut c: u16 = 0xFFFF;
            for b in b"1234" {
                c ^= *b as u16;
                for _ in 0..8 {
                    c = if c & 1 != 0 {
                        (c >> 1) ^ 0xA001
                    } else {
                        c >> 1
                    };
                }
            }
            c
        });
    }

    fn sample() -> PlanRegisters {
        PlanRegisters {
            seq: 0x0001_0002,
            cycle_ds: 900,
            offset_ds: 120,
            stages: vec![
                StageBlock {
                    number: 1,
                    groups_mask: 0b11,
                    split_ds: 500,
                    min_green_ds: 100,
                    max_green_ds: 500,
                    yellow_ds: 40,
                    all_red_ds: 20,
                    ped_walk_ds: 0,
                    ped_clearance_ds: 0,
                },
                StageBlock {
                    number: 2,
                    groups_mask: 0b1100,
                    split_ds: 400,
                    min_green_ds: 70,
                    max_green_ds: 600,
                    yellow_ds: 40,
                    all_red_ds: 20,
                    ped_walk_ds: 70,
                    ped_clearance_ds: 90,
                },
            ],
        }
    }

    #[test]
    fn plan_registers_round_trip() {
        let p = sample();
        let regs = p.to_registers();
        assert_eq!(regs.len(), plan_len(2));
        assert_eq!(PlanRegisters::decode(&regs), Ok(p));
    }

    #[test]
    fn any_flipped_bit_is_caught_by_the_checksum() {
        let regs = sample().to_registers();
        for i in 0..regs.len() {
            if i == (hr::PLAN_STAGE_COUNT - hr::PLAN_BASE) as usize {
                continue; // changes the length; checked separately
            }
            for bit in 0..16 {
                let mut r = regs.clone();
                r[i] ^= 1 << bit;
                assert!(PlanRegisters::decode(&r).is_err(), "register {i} bit {bit}");
            }
        }
    }

    #[test]
    fn stage_count_out_of_range() {
        let mut r = sample().to_registers();
        r[4] = 0;
        assert_eq!(
            PlanRegisters::decode(&r),
            Err(RejectCode::StageCountOutOfRange)
        );
        r[4] = 17;
        assert_eq!(
            PlanRegisters::decode(&r),
            Err(RejectCode::StageCountOutOfRange)
        );
    }

    #[test]
    fn status_round_trip() {
        let s = FieldStatus {
            map_version: 3,
            device_magic: regmap::DEVICE_MAGIC,
            field_time_ds: 0xDEAD_BEEF,
            next_stage: 3,
            green_shown_ds: 417,
            active_seq: 77,
            committed_seq: 78,
            green_mask: 0x8000_0001,
            yellow_mask: 6,
            last_commit_result: 34,
            ..Default::default()
        };
        let back = FieldStatus::from_registers(&s.to_registers()).unwrap();
        assert_eq!(back, s);
        assert_eq!(
            back.last_commit_rejection(),
            Some(RejectCode::StaleSequence)
        );
    }

    #[test]
    fn wrap_counter_is_exact_across_wraps() {
        let mut c = WrapCounter::default();
        let mut raw: u16 = 65_000;
        let mut truth = 0u64;
        c.update(raw);
        for step in [0u16, 535, 1, 65_535, 40_000, 30_000, 7] {
            raw = raw.wrapping_add(step);
            truth += step as u64;
            assert_eq!(c.update(raw), step);
        }
        assert_eq!(c.total(), truth);
    }

    #[test]
    fn seconds_to_deciseconds() {
        assert_eq!(secs_to_ds("x", 4.0), Ok(40));
        assert_eq!(secs_to_ds("x", 0.30000000000000004), Ok(3));
        assert!(secs_to_ds("x", 4.05).is_err());
        assert!(secs_to_ds("x", -1.0).is_err());
        assert!(secs_to_ds("x", 7000.0).is_err());
        assert!(secs_to_ds("x", f64::NAN).is_err());
    }
}
