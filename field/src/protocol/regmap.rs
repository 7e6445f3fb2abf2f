//! Register map v2 of the greenwave Modbus field link: addresses, sizes, enumerations and reason
//! codes, exactly as documented in `docs/modbus.md`. Addresses are 0-based protocol addresses
//! (the PDU address; "40001"/"30001" style tables add 1). Every time value is an unsigned 16-bit
//! count of deciseconds (ds, 0.1 s) unless its name says otherwise.

use roadnet::PlanRule;

/// Version of the register map; bumped on any incompatible change.
/// v2 added [`hr::COMMIT_STANDBY`], the command block (HR 4–7), the boot epoch and IR 45.
pub const MAP_VERSION: u16 = 3;
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
    // (addresses 1, 3, 8–9 and 12–99 are reserved; map v1 had the heartbeat at 1 and the stage
    // request at 3, unguarded — v2 moved both into the command block 4–7)
    /// `systemPatternControl`: [`super::PATTERN_PLAN`], [`super::PATTERN_FREE`] or [`super::PATTERN_FLASH`].
    pub const SYSTEM_PATTERN_CONTROL: u16 = 0;
    /// `unitBackupTime`, whole seconds (1..=3600): no heartbeat for longer → local plan.
    pub const UNIT_BACKUP_TIME_S: u16 = 2;
    /// Command block, first register: the field-clock time (ds, u32, high word first) after which
    /// the command written **in the same request** must not take effect. The heartbeat and the
    /// stage request are accepted only inside one write-multiple (FC 16) that starts here and
    /// carries both words; a request the field processes after its deadline (or with a deadline
    /// more than [`super::MAX_COMMAND_VALIDITY_DS`] ahead of the field clock) is refused whole
    /// with exception 03 and counted in [`super::ir::COMMANDS_EXPIRED`]. So a command the
    /// central has given up on (timed out) can never take effect later.
    pub const COMMAND_VALID_UNTIL_HI: u16 = 4;
    pub const COMMAND_VALID_UNTIL_LO: u16 = 5;
    /// Heartbeat (command block): any value (typically a counter); each accepted write feeds the
    /// watchdog. Write `COMMAND_VALID_UNTIL_HI..=HEARTBEAT` (3 registers).
    pub const HEARTBEAT: u16 = 6;
    /// Stage request (command block; NTCIP's force-off + call, for acyclic central control):
    /// 0 = none, else the 1-based number of the stage the central wants next. In PLAN mode with a
    /// live central the field ends the current green as soon as its shortest green is served,
    /// runs the change interval and serves the requested stage, holding it (up to its max green)
    /// until another is requested. A committed plan, FREE/FLASH or a silent central end request
    /// mode. Written with the heartbeat: `COMMAND_VALID_UNTIL_HI..=STAGE_REQUEST` (4 registers).
    pub const STAGE_REQUEST: u16 = 7;
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
    /// Boot epoch, u32: a value the field controller draws afresh at every start (never 0). Its
    /// detector counters, field clock and committed sequence start again from 0 at a start, so a
    /// central that sees the epoch change re-primes its counters instead of reading the drop as
    /// traffic, and re-sends its plan.
    pub const BOOT_EPOCH_HI: u16 = 12;
    pub const BOOT_EPOCH_LO: u16 = 13;
    /// Command-block writes refused because their deadline had passed (or lay too far ahead),
    /// wrapping u16.
    pub const COMMANDS_EXPIRED: u16 = 14;
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
    /// During a change interval (yellow, all-red, the start-up all-red) the 1-based number of
    /// the stage that follows it; 0 during green and in flash. With `CURRENT_STAGE` and the lamp
    /// masks it tells a central (or a simulator following the field) where the lamps are going.
    pub const NEXT_STAGE: u16 = 45;
    /// How long the stage of `CURRENT_STAGE` has shown green, ds (saturating at 65535): during
    /// its green the time so far, during the change interval after it the whole green it
    /// showed; 0 in the start-up all-red and in flash. `TIME_IN_STAGE_DS` keeps counting
    /// through the change interval; a controller deciding on green time needs this one.
    pub const GREEN_SHOWN_DS: u16 = 46;
    /// One past the last status register.
    pub const STATUS_END: u16 = 47;
    // --- detectors ---
    /// The boot epoch again ([`BOOT_EPOCH_HI`]), just before the detector blocks, so that one
    /// read carries the counters and the start they count from.
    pub const DET_BOOT_EPOCH_HI: u16 = 98;
    pub const DET_BOOT_EPOCH_LO: u16 = 99;
    pub const DET_BASE: u16 = 100;
    pub const DET_BLOCK: u16 = 4;
    /// Offsets inside a detector block.
    pub const DET_COUNT: u16 = 0;
    pub const DET_OCCUPIED_DS: u16 = 1;
    pub const DET_OCCUPANCY_PERMILLE: u16 = 2;
    pub const DET_HEALTH: u16 = 3;
    pub const END: u16 = DET_BASE + DET_BLOCK * super::MAX_DETECTORS as u16;
}

/// Longest a command may stay valid ahead of the field clock, ds (10 s): longer than any
/// sensible request timeout, short enough that a command held up in a stalled field or network
/// cannot surface much later.
pub const MAX_COMMAND_VALIDITY_DS: u32 = 100;

/// The sequence-number rule (serial-number arithmetic, RFC 1982 style): a plan's sequence
/// number `seq` is accepted when `seq != 0` and `1 ≤ (seq − committed) mod 2³² ≤
/// MAX_SEQUENCE_STEP`, with `committed` the last accepted one (0 after a start). Numbers wrap
/// from 2³² − 1 to 1 (0 is the local plan's), and no single write can move the field out of the
/// central's reach: a sender that jumped ahead moves `committed` by at most this step, and the
/// central, refused as stale, re-reads `committed` and continues from it + 1.
pub const MAX_SEQUENCE_STEP: u32 = 1 << 16;

/// Whether `seq` may follow `committed` (see [`MAX_SEQUENCE_STEP`]).
pub fn sequence_follows(seq: u32, committed: u32) -> bool {
    seq != 0 && (1..=MAX_SEQUENCE_STEP).contains(&seq.wrapping_sub(committed))
}

/// The sequence number after `seq`: wraps past 2³² − 1 to 1, never 0.
pub fn next_sequence(seq: u32) -> u32 {
    match seq.wrapping_add(1) {
        0 => 1,
        n => n,
    }
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
    /// The sequence number does not follow the last accepted one (see [`sequence_follows`]).
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
    fn sequence_numbers_wrap_and_no_write_jumps_far() {
        assert!(sequence_follows(1, 0));
        assert!(sequence_follows(5, 4));
        assert!(!sequence_follows(4, 4));
        assert!(!sequence_follows(3, 4));
        // the v1 lock-out: 0xFFFF_FFFF after a young field is out of reach now
        assert!(!sequence_follows(u32::MAX, 7));
        assert!(sequence_follows(7 + MAX_SEQUENCE_STEP, 7));
        assert!(!sequence_follows(8 + MAX_SEQUENCE_STEP, 7));
        // wrap: after 2^32 - 1 comes 1, and 0 is never a central plan's
        assert_eq!(next_sequence(u32::MAX), 1);
        assert_eq!(next_sequence(41), 42);
        assert!(sequence_follows(1, u32::MAX));
        assert!(!sequence_follows(0, u32::MAX));
        assert!(sequence_follows(next_sequence(u32::MAX - 1), u32::MAX - 1));
    }

    #[test]
    fn areas_fit_the_limits() {
        assert_eq!(hr::END, 266);
        assert_eq!(ir::END, 356);
    }
}
