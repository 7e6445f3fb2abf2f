//! Register map v2 of the greenwave Modbus field link: addresses, sizes, enumerations and reason
//! codes, exactly as documented in `docs/modbus.md`. Addresses are 0-based protocol addresses
//! (the PDU address; "40001"/"30001" style tables add 1). Every time value is an unsigned 16-bit
//! count of deciseconds (ds, 0.1 s) unless its name says otherwise.

use roadnet::PlanRule;

/// Version of the register map; bumped on any incompatible change.
/// v2 added [`hr::COMMIT_STANDBY`].
pub const MAP_VERSION: u16 = 2;
/// "GW" — lets a client check it talks to a greenwave-compatible field controller.
pub const DEVICE_MAGIC: u16 = 0x4757;

/// Most stages one plan may hold.
pub const MAX_PLAN_STAGES: usize = 16;
/// Most signal groups one intersection may have (bit masks are 32 bits).
pub const MAX_GROUPS: usize = 32;
/// Most detectors one intersection may have.
pub const MAX_DETECTORS: usize = 64;
/// Most registers one read (FC 03/04) may ask for (Modbus limit).
pub const MAX_READ_REGS: u16 = 125;
/// Most registers one write-multiple (FC 16) may carry (Modbus limit).
pub const MAX_WRITE_REGS: u16 = 123;

/// Holding registers (FC 03 read, FC 06/16 write).
pub mod hr {
    // (addresses 4–9 and 12–99 are reserved)
    /// `systemPatternControl`: [`super::PATTERN_PLAN`], [`super::PATTERN_FREE`] or [`super::PATTERN_FLASH`].
    pub const SYSTEM_PATTERN_CONTROL: u16 = 0;
    /// Heartbeat: the central writes any value (typically a counter); each write feeds the watchdog.
    pub const HEARTBEAT: u16 = 1;
    /// `unitBackupTime`, whole seconds (1..=3600): no heartbeat for longer → local plan.
    pub const UNIT_BACKUP_TIME_S: u16 = 2;
    /// Stage request (NTCIP's force-off + call, for acyclic central control): 0 = none, else the
    /// 1-based number of the stage the central wants next. In PLAN mode with a live central the
    /// field ends the current green as soon as its shortest green is served, runs the change
    /// interval and serves the requested stage, holding it (up to its max green) until another
    /// is requested. A committed plan, FREE/FLASH or a silent central end request mode.
    pub const STAGE_REQUEST: u16 = 3;
    /// Commit: write the low word of the plan sequence number to validate and accept the plan area.
    pub const COMMIT: u16 = 10;
    /// Commit as the standby plan: write the low word of the plan sequence number to validate
    /// the plan area exactly like [`COMMIT`] and, if accepted, keep it as the field's local
    /// (fallback) plan — what runs when the central goes silent or in FREE — without touching
    /// the lamps or ending stage-request mode.
    pub const COMMIT_STANDBY: u16 = 11;
    /// First register of the plan area.
    pub const PLAN_BASE: u16 = 100;
    pub const PLAN_SEQ_HI: u16 = 100;
    pub const PLAN_SEQ_LO: u16 = 101;
    pub const PLAN_CYCLE_DS: u16 = 102;
    pub const PLAN_OFFSET_DS: u16 = 103;
    pub const PLAN_STAGE_COUNT: u16 = 104;
    /// CRC-16/MODBUS over the plan area (see [`crate::protocol::codec::plan_crc`]).
    pub const PLAN_CHECKSUM: u16 = 105;
    /// First stage block; block `i` starts at `STAGE_BASE + STAGE_BLOCK * i`.
    pub const STAGE_BASE: u16 = 106;
    /// Registers per stage block.
    pub const STAGE_BLOCK: u16 = 10;
    /// Offsets inside a stage block.
    pub const ST_NUMBER: u16 = 0;
    pub const ST_GROUPS_HI: u16 = 1;
    pub const ST_GROUPS_LO: u16 = 2;
    pub const ST_SPLIT_DS: u16 = 3;
    pub const ST_MIN_GREEN_DS: u16 = 4;
    pub const ST_MAX_GREEN_DS: u16 = 5;
    pub const ST_YELLOW_DS: u16 = 6;
    pub const ST_ALL_RED_DS: u16 = 7;
    pub const ST_PED_WALK_DS: u16 = 8;
    pub const ST_PED_CLEAR_DS: u16 = 9;
    /// One past the last holding register.
    pub const END: u16 = STAGE_BASE + STAGE_BLOCK * super::MAX_PLAN_STAGES as u16;
}

/// Input registers (FC 04, read only).
pub mod ir {
    pub const MAP_VERSION: u16 = 0;
    pub const DEVICE_MAGIC: u16 = 1;
    pub const UNIT_ID: u16 = 2;
    /// Stages the intersection defines (stage numbers run 1..=this).
    pub const STAGE_COUNT: u16 = 3;
    pub const GROUP_COUNT: u16 = 4;
    pub const DETECTOR_COUNT: u16 = 5;
    pub const MAX_PLAN_STAGES: u16 = 6;
    /// Cycle of the local (fallback) plan, ds.
    pub const LOCAL_CYCLE_DS: u16 = 7;
    /// Field clock, ds since its time reference, u32 (wraps).
    pub const FIELD_TIME_HI: u16 = 10;
    pub const FIELD_TIME_LO: u16 = 11;
    // --- status ---
    /// Sequence number of the plan on the lamps (0 = the local plan), u32.
    pub const ACTIVE_SEQ_HI: u16 = 20;
    pub const ACTIVE_SEQ_LO: u16 = 21;
    /// [`super::SOURCE_CENTRAL`], [`super::SOURCE_LOCAL`] or [`super::SOURCE_FLASH`].
    pub const ACTIVE_SOURCE: u16 = 22;
    /// Stage number being served (1-based; during a change interval the stage being left; 0 in flash).
    pub const CURRENT_STAGE: u16 = 23;
    /// [`super::INTERVAL_GREEN`] …
    pub const INTERVAL: u16 = 24;
    pub const TIME_IN_STAGE_DS: u16 = 25;
    pub const TIME_IN_INTERVAL_DS: u16 = 26;
    /// Bit flags, see [`super::flags`].
    pub const STATUS_FLAGS: u16 = 27;
    pub const ACTIVE_CYCLE_DS: u16 = 28;
    pub const ACTIVE_OFFSET_DS: u16 = 29;
    /// Last accepted (committed) sequence number, u32; the next plan must be greater.
    pub const COMMITTED_SEQ_HI: u16 = 30;
    pub const COMMITTED_SEQ_LO: u16 = 31;
    /// Sequence number found in the plan area at the last commit attempt, u32.
    pub const LAST_COMMIT_SEQ_HI: u16 = 32;
    pub const LAST_COMMIT_SEQ_LO: u16 = 33;
    /// Result of the last commit: 0 accepted, else a reason code (`localFreeStatus`-like).
    pub const LAST_COMMIT_RESULT: u16 = 34;
    /// The last non-zero reason code.
    pub const LAST_REJECT_REASON: u16 = 35;
    pub const ACCEPT_COUNT: u16 = 36;
    pub const REJECT_COUNT: u16 = 37;
    pub const HEARTBEAT_ECHO: u16 = 38;
    /// Time since the last heartbeat, ds, saturating at 65535.
    pub const HEARTBEAT_AGE_DS: u16 = 39;
    /// Signal groups showing green (G or g) — bit i = i-th signal group of the intersection.
    pub const GREEN_MASK_HI: u16 = 40;
    pub const GREEN_MASK_LO: u16 = 41;
    pub const YELLOW_MASK_HI: u16 = 42;
    pub const YELLOW_MASK_LO: u16 = 43;
    /// Conflict-monitor faults seen by the field itself (must stay 0).
    pub const CONFLICT_FAULTS: u16 = 44;
    /// One past the last status register.
    pub const STATUS_END: u16 = 45;
    // --- detectors ---
    pub const DET_BASE: u16 = 100;
    pub const DET_BLOCK: u16 = 4;
    /// Offsets inside a detector block.
    pub const DET_COUNT: u16 = 0;
    pub const DET_OCCUPIED_DS: u16 = 1;
    pub const DET_OCCUPANCY_PERMILLE: u16 = 2;
    pub const DET_HEALTH: u16 = 3;
    pub const END: u16 = DET_BASE + DET_BLOCK * super::MAX_DETECTORS as u16;
}

pub const PATTERN_PLAN: u16 = 1;
pub const PATTERN_FREE: u16 = 254;
pub const PATTERN_FLASH: u16 = 255;

pub const SOURCE_CENTRAL: u16 = 1;
pub const SOURCE_LOCAL: u16 = 2;
pub const SOURCE_FLASH: u16 = 3;

pub const INTERVAL_GREEN: u16 = 0;
pub const INTERVAL_YELLOW: u16 = 1;
pub const INTERVAL_ALL_RED: u16 = 2;
pub const INTERVAL_FLASH: u16 = 3;

/// Bits of [`ir::STATUS_FLAGS`].
pub mod flags {
    /// No heartbeat within `unitBackupTime` (or none yet): the local plan runs.
    pub const FALLBACK: u16 = 1 << 0;
    /// The active plan is still moving toward its offset.
    pub const TRANSITION: u16 = 1 << 1;
    /// A committed plan waits for the next stage boundary.
    pub const PLAN_PENDING: u16 = 1 << 2;
    /// Flash is on (commanded).
    pub const FLASH: u16 = 1 << 3;
    /// `systemPatternControl` is FREE.
    pub const FREE: u16 = 1 << 4;
}

/// Bits of a detector's health register.
pub mod health {
    /// The detector is configured and reporting.
    pub const OK: u16 = 1 << 0;
    pub const STUCK_ON: u16 = 1 << 1;
    pub const STUCK_OFF: u16 = 1 << 2;
    pub const CHATTERING: u16 = 1 << 3;
    /// Open or shorted loop / no data from the source.
    pub const FAULT: u16 = 1 << 4;
}

/// Why a field controller refused a commit. Codes 1–31 are [`PlanRule::code`] (the shared plan
/// validator); 32 and up belong to the link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    /// A safety rule of the plan validator.
    Rule(PlanRule),
    /// The checksum register does not match the plan area.
    ChecksumMismatch,
    /// Not every register of the plan area (header, checksum, each stage block) was written since the last commit.
    IncompletePlan,
    /// The sequence number is not greater than the last accepted one.
    StaleSequence,
    /// The value written to the commit register is not the plan's sequence low word.
    CommitMismatch,
    /// Stage count 0 or above [`MAX_PLAN_STAGES`], or a stage number the intersection does not have.
    StageCountOutOfRange,
    /// A stage block's signal groups differ from the field's own definition of that stage.
    StageDefinitionMismatch,
    /// A stage block declares min green / yellow / all-red / pedestrian times below the field's own.
    TimingBelowLocalMinimum,
}

impl RejectCode {
    pub const CHECKSUM_MISMATCH: u16 = 32;
    pub const INCOMPLETE_PLAN: u16 = 33;
    pub const STALE_SEQUENCE: u16 = 34;
    pub const COMMIT_MISMATCH: u16 = 35;
    pub const STAGE_COUNT_OUT_OF_RANGE: u16 = 36;
    pub const STAGE_DEFINITION_MISMATCH: u16 = 37;
    pub const TIMING_BELOW_LOCAL_MINIMUM: u16 = 38;

    pub fn code(self) -> u16 {
        match self {
            RejectCode::Rule(r) => r.code(),
            RejectCode::ChecksumMismatch => Self::CHECKSUM_MISMATCH,
            RejectCode::IncompletePlan => Self::INCOMPLETE_PLAN,
            RejectCode::StaleSequence => Self::STALE_SEQUENCE,
            RejectCode::CommitMismatch => Self::COMMIT_MISMATCH,
            RejectCode::StageCountOutOfRange => Self::STAGE_COUNT_OUT_OF_RANGE,
            RejectCode::StageDefinitionMismatch => Self::STAGE_DEFINITION_MISMATCH,
            RejectCode::TimingBelowLocalMinimum => Self::TIMING_BELOW_LOCAL_MINIMUM,
        }
    }

    pub fn from_code(code: u16) -> Option<RejectCode> {
        if let Some(r) = PlanRule::from_code(code) {
            return Some(RejectCode::Rule(r));
        }
        Some(match code {
            Self::CHECKSUM_MISMATCH => RejectCode::ChecksumMismatch,
            Self::INCOMPLETE_PLAN => RejectCode::IncompletePlan,
            Self::STALE_SEQUENCE => RejectCode::StaleSequence,
            Self::COMMIT_MISMATCH => RejectCode::CommitMismatch,
            Self::STAGE_COUNT_OUT_OF_RANGE => RejectCode::StageCountOutOfRange,
            Self::STAGE_DEFINITION_MISMATCH => RejectCode::StageDefinitionMismatch,
            Self::TIMING_BELOW_LOCAL_MINIMUM => RejectCode::TimingBelowLocalMinimum,
            _ => return None,
        })
    }
}

impl std::fmt::Display for RejectCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RejectCode::Rule(r) => write!(f, "{r:?} (code {})", r.code()),
            other => write!(f, "{other:?} (code {})", other.code()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reject_codes_round_trip_and_do_not_collide_with_plan_rules() {
        let link = [
            RejectCode::ChecksumMismatch,
            RejectCode::IncompletePlan,
            RejectCode::StaleSequence,
            RejectCode::CommitMismatch,
            RejectCode::StageCountOutOfRange,
            RejectCode::StageDefinitionMismatch,
            RejectCode::TimingBelowLocalMinimum,
        ];
        for c in link {
            assert!(c.code() >= 32);
            assert_eq!(RejectCode::from_code(c.code()), Some(c));
        }
        for code in 1..32 {
            if let Some(r) = PlanRule::from_code(code) {
                assert_eq!(RejectCode::from_code(code), Some(RejectCode::Rule(r)));
            }
        }
        assert_eq!(RejectCode::from_code(0), None);
    }

    #[test]
    fn areas_fit_the_limits() {
        assert_eq!(hr::END, 266);
        assert_eq!(ir::END, 356);
    }
}
