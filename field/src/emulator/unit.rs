//! One emulated field controller (one intersection): its registers, its own safety checks on
//! every committed plan, its watchdog, its detectors and its timing engine. Synchronous and
//! clock-free: the caller passes the time of every call, so it runs the same on a manual clock.

use super::clock::Ds;
use super::runner::{self, ConflictMatrix, EffPlan, Phase, Runner, Startup, Target};
use crate::protocol::codec::{
    field_detectors, plan_len, DetectorBlock, FieldStatus, PlanRegisters,
};
use crate::protocol::regmap::{
    self, flags, hr, RejectCode, MAX_DETECTORS, MAX_GROUPS, MAX_PLAN_STAGES,
};
use roadnet::{check_limits, DetectorId, IntersectionId, Interval, PlanRule, RoadNet, SignalState};
use std::sync::Arc;
use tokio_modbus::ExceptionCode;

/// Default `unitBackupTime`, seconds.
pub const DEFAULT_BACKUP_TIME_S: u16 = 10;

/// Why an intersection cannot be emulated.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum UnitError {
    #[error("intersection '{0}' is not signalized or names no field controller")]
    NotSignalized(String),
    #[error("intersection '{name}' has {count} {what}; the register map holds at most {max}")]
    TooMany {
        name: String,
        what: &'static str,
        count: usize,
        max: usize,
    },
    #[error("intersection '{name}': its local plan is not valid: {detail}")]
    BadLocalPlan { name: String, detail: String },
}

/// Feeds detector actuations into a field controller (a counter, a replay, the simulator).
pub trait DetectorSource: Send {
    /// Bring the detector blocks of `intersection` up to time `now` (counts and occupied time
    /// are running totals that wrap; occupancy and health are current values).
    fn update(&mut self, intersection: IntersectionId, now: Ds, detectors: &mut [DetectorBlock]);
}

/// No traffic: counts stay 0, every detector healthy.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdleSource;

impl DetectorSource for IdleSource {
    fn update(&mut self, _: IntersectionId, _: Ds, detectors: &mut [DetectorBlock]) {
        for d in detectors {
            d.health = regmap::health::OK;
        }
    }
}

/// A steady flow on every detector, a pure function of time: `vehicles_per_hour` actuations,
/// each occupying the loop for `occupied_ds_per_vehicle`.
#[derive(Debug, Clone, Copy)]
pub struct CounterSource {
    pub vehicles_per_hour: u32,
    pub occupied_ds_per_vehicle: u32,
}

impl DetectorSource for CounterSource {
    fn update(&mut self, _: IntersectionId, now: Ds, detectors: &mut [DetectorBlock]) {
        let count = now * self.vehicles_per_hour as u64 / 36_000;
        let occ = (self.vehicles_per_hour as u64 * self.occupied_ds_per_vehicle as u64 * 1000
            / 36_000)
            .min(1000) as u16;
        for (i, d) in detectors.iter_mut().enumerate() {
            // stagger the detectors so that they differ
            let c = count + i as u64;
            d.count = c as u16;
            d.occupied_ds = (c * self.occupied_ds_per_vehicle as u64) as u16;
            d.occupancy_permille = occ;
            d.health = regmap::health::OK;
        }
    }
}

/// An emulated field controller.
pub struct FieldUnit {
    net: Arc<RoadNet>,
    id: IntersectionId,
    unit_id: u8,
    permissive: Vec<bool>,
    /// Per stage number − 1: the field's own stage definition.
    own_masks: Vec<u32>,
    own_limits: Vec<roadnet::StageLimits>,
    own_max_green_ds: Vec<u32>,
    conflicts: ConflictMatrix,
    local: Arc<EffPlan>,
    /// The standby plan the central committed ([`hr::COMMIT_STANDBY`]): runs instead of
    /// `local` whenever the local plan would (central silent, FREE).
    standby: Option<Arc<EffPlan>>,
    committed: Option<Arc<EffPlan>>,
    /// The one-stage plan of the central's current stage request, if any.
    request: Option<Arc<EffPlan>>,
    holding: Vec<u16>,
    /// Plan-area registers written since the last commit.
    written: Vec<bool>,
    last_heartbeat: Option<Ds>,
    /// Drawn at construction: one unit object is one start of the field controller.
    boot_epoch: u32,
    commands_expired: u16,
    runner: Runner,
    now: Ds,
    status: FieldStatus,
    detector_ids: Vec<DetectorId>,
    detectors: Vec<DetectorBlock>,
    source: Box<dyn DetectorSource>,
}

impl std::fmt::Debug for FieldUnit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldUnit")
            .field("intersection", &self.id)
            .field("unit_id", &self.unit_id)
            .finish_non_exhaustive()
    }
}

impl FieldUnit {
    pub fn new(
        net: Arc<RoadNet>,
        id: IntersectionId,
        now: Ds,
        source: Box<dyn DetectorSource>,
    ) -> Result<FieldUnit, UnitError> {
        let inter = net.intersection(id);
        let Some(ep) = inter.controller.as_ref().filter(|_| inter.is_signalized()) else {
            return Err(UnitError::NotSignalized(inter.name.clone()));
        };
        let too_many = |what, count, max| UnitError::TooMany {
            name: inter.name.clone(),
            what,
            count,
            max,
        };
        if inter.signal_groups.len() > MAX_GROUPS {
            return Err(too_many(
                "signal groups",
                inter.signal_groups.len(),
                MAX_GROUPS,
            ));
        }
        if inter.stages.len() > MAX_PLAN_STAGES {
            return Err(too_many("stages", inter.stages.len(), MAX_PLAN_STAGES));
        }
        let detector_ids = field_detectors(&net, id);
        if detector_ids.len() > MAX_DETECTORS {
            return Err(too_many("detectors", detector_ids.len(), MAX_DETECTORS));
        }
        let bad_local = |detail: String| UnitError::BadLocalPlan {
            name: inter.name.clone(),
            detail,
        };
        // the local plan passes the same validator as every central plan
        controller::baseline::base_plan(&net, id)
            .validate(&net)
            .map_err(|e| bad_local(e.to_string()))?;
        let local = runner::local_plan(&net, id).map_err(|e| bad_local(e.to_string()))?;
        if local.stages.is_empty() {
            return Err(bad_local("no stage".into()));
        }
        let conflicts = ConflictMatrix::new(&net, id);
        for s in &local.stages {
            if conflicts.check(s.groups_mask).is_err() {
                return Err(bad_local(format!(
                    "stage {} has conflicting greens",
                    s.number
                )));
            }
        }
        let local = Arc::new(local);
        let mut holding = vec![0u16; hr::END as usize];
        holding[hr::SYSTEM_PATTERN_CONTROL as usize] = regmap::PATTERN_PLAN;
        holding[hr::UNIT_BACKUP_TIME_S as usize] = DEFAULT_BACKUP_TIME_S;
        let own_max_green_ds = inter
            .stages
            .iter()
            .map(|s| (net.stage(*s).limits.max_green_s * 10.0).round().max(0.0) as u32)
            .collect();
        let mut unit = FieldUnit {
            id,
            unit_id: ep.unit_id,
            permissive: inter
                .signal_groups
                .iter()
                .map(|g| net.signal_group(*g).permissive)
                .collect(),
            own_masks: inter
                .stages
                .iter()
                .map(|s| crate::protocol::codec::stage_groups_mask(&net, *s))
                .collect(),
            own_limits: inter.stages.iter().map(|s| net.stage(*s).limits).collect(),
            own_max_green_ds,
            runner: Runner::new(
                local.clone(),
                Startup::of(&net, id),
                Some(conflicts.clone()),
                now,
            ),
            conflicts,
            local,
            standby: None,
            committed: None,
            request: None,
            holding,
            written: vec![false; (hr::END - hr::PLAN_BASE) as usize],
            last_heartbeat: None,
            boot_epoch: draw_boot_epoch(),
            commands_expired: 0,
            now,
            status: FieldStatus::default(),
            detectors: vec![DetectorBlock::default(); detector_ids.len()],
            detector_ids,
            source,
            net,
        };
        unit.advance_to(now);
        Ok(unit)
    }

    pub fn intersection(&self) -> IntersectionId {
        self.id
    }
    pub fn unit_id(&self) -> u8 {
        self.unit_id
    }
    pub fn net(&self) -> &Arc<RoadNet> {
        &self.net
    }
    pub fn local_plan(&self) -> &Arc<EffPlan> {
        &self.local
    }
    /// The standby plan last committed with [`hr::COMMIT_STANDBY`], if any.
    pub fn standby_plan(&self) -> Option<&Arc<EffPlan>> {
        self.standby.as_ref()
    }
    /// What runs when the field is on its own: the standby plan, else the configured one.
    fn fallback_plan(&self) -> Arc<EffPlan> {
        self.standby.clone().unwrap_or_else(|| self.local.clone())
    }
    pub fn committed_plan(&self) -> Option<&Arc<EffPlan>> {
        self.committed.as_ref()
    }
    pub fn runner(&self) -> &Runner {
        &self.runner
    }
    pub fn detector_ids(&self) -> &[DetectorId] {
        &self.detector_ids
    }
    pub fn conflict_matrix(&self) -> &ConflictMatrix {
        &self.conflicts
    }

    fn backup_ds(&self) -> Ds {
        self.holding[hr::UNIT_BACKUP_TIME_S as usize] as Ds * 10
    }

    /// Whether the central's heartbeat is fresh at time `t`.
    pub fn central_alive_at(&self, t: Ds) -> bool {
        self.last_heartbeat
            .is_some_and(|h| t <= h.saturating_add(self.backup_ds()))
    }

    /// What should run after a stage that ends at `t`.
    fn target_at(&self, t: Ds) -> Target {
        match self.holding[hr::SYSTEM_PATTERN_CONTROL as usize] {
            regmap::PATTERN_FLASH => Target::Flash,
            regmap::PATTERN_FREE => Target::Plan(self.fallback_plan()),
            _ => match (&self.request, &self.committed) {
                (Some(r), _) if self.central_alive_at(t) => Target::Plan(r.clone()),
                (None, Some(p)) if self.central_alive_at(t) => Target::Plan(p.clone()),
                _ => Target::Plan(self.fallback_plan()),
            },
        }
    }

    /// Run the lamps and the detectors up to `now` (time never goes back).
    pub fn advance_to(&mut self, now: Ds) {
        let now = now.max(self.now);
        self.run_lamps(now);
        self.now = now;
        self.source.update(self.id, now, &mut self.detectors);
        self.refresh_status();
    }

    /// Run the timing engine up to `now` with this unit's targets.
    fn run_lamps(&mut self, now: Ds) {
        let placeholder = Runner::new(
            self.local.clone(),
            Startup::of(&self.net, self.id),
            None,
            now,
        );
        let mut runner = std::mem::replace(&mut self.runner, placeholder);
        runner.advance_to(now, &mut |t| self.target_at(t));
        self.runner = runner;
    }

    /// Add actuations to a detector (for a source that pushes, like the simulator in the loop).
    pub fn add_actuations(&mut self, detector: usize, count: u32, occupied_ds: u32) {
        if let Some(d) = self.detectors.get_mut(detector) {
            d.count = d.count.wrapping_add(count as u16);
            d.occupied_ds = d.occupied_ds.wrapping_add(occupied_ds as u16);
        }
    }

    /// Set a detector's current occupancy (‰) and health bits.
    pub fn set_detector_state(&mut self, detector: usize, occupancy_permille: u16, health: u16) {
        if let Some(d) = self.detectors.get_mut(detector) {
            d.occupancy_permille = occupancy_permille.min(1000);
            d.health = health;
        }
    }

    pub fn detectors(&self) -> &[DetectorBlock] {
        &self.detectors
    }

    fn refresh_status(&mut self) {
        let r = &self.runner;
        let inter = self.net.intersection(self.id);
        let plan = r.plan();
        let flashing = r.phase() == Phase::Flash;
        let mut fl = 0;
        let pattern = self.holding[hr::SYSTEM_PATTERN_CONTROL as usize];
        if pattern == regmap::PATTERN_PLAN && !self.central_alive_at(self.now) {
            fl |= flags::FALLBACK;
        }
        if r.in_transition() {
            fl |= flags::TRANSITION;
        }
        if self.committed.as_ref().is_some_and(|c| **c != **plan) && !flags_fallback(fl) {
            fl |= flags::PLAN_PENDING;
        }
        if pattern == regmap::PATTERN_FLASH {
            fl |= flags::FLASH;
        }
        if pattern == regmap::PATTERN_FREE {
            fl |= flags::FREE;
        }
        let s = &mut self.status;
        s.map_version = regmap::MAP_VERSION;
        s.device_magic = regmap::DEVICE_MAGIC;
        s.unit_id = self.unit_id as u16;
        s.stage_count = inter.stages.len() as u16;
        s.group_count = inter.signal_groups.len() as u16;
        s.detector_count = self.detectors.len() as u16;
        s.max_plan_stages = MAX_PLAN_STAGES as u16;
        let fallback_cycle_ds = self.standby.as_ref().unwrap_or(&self.local).cycle_ds;
        s.local_cycle_ds = fallback_cycle_ds.min(u16::MAX as u32) as u16;
        s.field_time_ds = self.now as u32;
        s.boot_epoch = self.boot_epoch;
        s.commands_expired = self.commands_expired;
        s.active_seq = if flashing { 0 } else { plan.seq };
        s.active_source = if flashing {
            regmap::SOURCE_FLASH
        } else if plan.seq == 0 || self.standby.as_ref().is_some_and(|s| s.seq == plan.seq) {
            regmap::SOURCE_LOCAL
        } else {
            regmap::SOURCE_CENTRAL
        };
        s.current_stage = if flashing { 0 } else { r.stage().number };
        s.interval = match r.phase() {
            Phase::Green => regmap::INTERVAL_GREEN,
            Phase::Yellow => regmap::INTERVAL_YELLOW,
            Phase::AllRed => regmap::INTERVAL_ALL_RED,
            Phase::Flash => regmap::INTERVAL_FLASH,
        };
        s.time_in_stage_ds = (self.now - r.stage_start().min(self.now)).min(u16::MAX as u64) as u16;
        s.time_in_interval_ds =
            (self.now - r.phase_start().min(self.now)).min(u16::MAX as u64) as u16;
        s.flags = fl;
        s.active_cycle_ds = plan.cycle_ds.min(u16::MAX as u32) as u16;
        s.active_offset_ds = plan.offset_ds.min(u16::MAX as u32) as u16;
        s.heartbeat_echo = self.holding[hr::HEARTBEAT as usize];
        s.heartbeat_age_ds = match self.last_heartbeat {
            Some(h) => (self.now.saturating_sub(h)).min(u16::MAX as u64) as u16,
            None => u16::MAX,
        };
        s.green_mask = r.green_mask();
        s.yellow_mask = r.yellow_mask();
        s.conflict_faults = r.conflict_faults().min(u16::MAX as u32) as u16;
        s.next_stage = match r.phase() {
            Phase::Yellow | Phase::AllRed => r.next_stage_number().unwrap_or(0),
            Phase::Green | Phase::Flash => 0,
        };
        s.green_shown_ds = r.green_elapsed(self.now).min(u16::MAX as u64) as u16;
    }

    pub fn status(&self) -> FieldStatus {
        self.status
    }

    /// The live state in the road model's vocabulary (for a simulator in the loop).
    pub fn signal_state(&self) -> SignalState {
        let r = &self.runner;
        let interval = match r.phase() {
            Phase::Green => Interval::Green,
            Phase::Yellow => Interval::Yellow,
            Phase::AllRed | Phase::Flash => Interval::AllRed,
        };
        let inter = self.net.intersection(self.id);
        let stage = r.stage_id(&self.net, self.id).unwrap_or(inter.stages[0]);
        SignalState {
            intersection: self.id,
            stage,
            interval,
            time_in_interval_s: (self.now - r.phase_start().min(self.now)) as f64 / 10.0,
            green_elapsed_s: r.green_elapsed(self.now) as f64 / 10.0,
            next_stage: r
                .next_stage_number()
                .filter(|_| interval != Interval::Green)
                .and_then(|n| inter.stages.get(n as usize - 1).copied()),
            indications: self.indications(),
        }
    }

    pub fn indications(&self) -> Vec<roadnet::Indication> {
        self.runner.indications(&self.permissive)
    }

    // ---------------------------------------------------------------- Modbus access

    pub fn read_input(&self, addr: u16, cnt: u16) -> Result<Vec<u16>, ExceptionCode> {
        check_range(addr, cnt, regmap::ir::END, regmap::MAX_READ_REGS)?;
        let status = self.status.to_registers();
        Ok((addr..addr + cnt)
            .map(|a| {
                if a < regmap::ir::STATUS_END {
                    status[a as usize]
                } else if a == regmap::ir::DET_BOOT_EPOCH_HI {
                    (self.boot_epoch >> 16) as u16
                } else if a == regmap::ir::DET_BOOT_EPOCH_LO {
                    self.boot_epoch as u16
                } else if a >= regmap::ir::DET_BASE {
                    let k = ((a - regmap::ir::DET_BASE) / regmap::ir::DET_BLOCK) as usize;
                    let j = ((a - regmap::ir::DET_BASE) % regmap::ir::DET_BLOCK) as usize;
                    self.detectors.get(k).map(|d| d.to_words()[j]).unwrap_or(0)
                } else {
                    0
                }
            })
            .collect())
    }

    pub fn read_holding(&self, addr: u16, cnt: u16) -> Result<Vec<u16>, ExceptionCode> {
        check_range(addr, cnt, hr::END, regmap::MAX_READ_REGS)?;
        Ok(self.holding[addr as usize..(addr + cnt) as usize].to_vec())
    }

    /// Write holding registers (FC 06 is a one-register FC 16). All-or-nothing: any
    /// unwritable address or illegal value refuses the whole request.
    pub fn write_holding(&mut self, addr: u16, values: &[u16]) -> Result<(), ExceptionCode> {
        if values.is_empty() || values.len() > regmap::MAX_WRITE_REGS as usize {
            return Err(ExceptionCode::IllegalDataValue);
        }
        let end = addr as u32 + values.len() as u32;
        if end > hr::END as u32 {
            return Err(ExceptionCode::IllegalDataAddress);
        }
        let touches_commands = addr <= hr::STAGE_REQUEST && end > hr::COMMAND_VALID_UNTIL_HI as u32;
        if touches_commands {
            // the command block goes whole: its deadline, then at least the heartbeat
            if addr != hr::COMMAND_VALID_UNTIL_HI || end <= hr::HEARTBEAT as u32 {
                return Err(ExceptionCode::IllegalDataAddress);
            }
            let valid_until = crate::protocol::codec::join_u32(values[0], values[1]);
            if !command_in_time(valid_until, self.now) {
                self.commands_expired = self.commands_expired.wrapping_add(1);
                self.refresh_status();
                tracing::info!(
                    unit = self.unit_id,
                    valid_until_ds = valid_until,
                    field_time_ds = self.now as u32,
                    "command refused: outside its validity window"
                );
                return Err(ExceptionCode::IllegalDataValue);
            }
        }
        for (i, v) in values.iter().enumerate() {
            let a = addr + i as u16;
            match a {
                hr::SYSTEM_PATTERN_CONTROL => {
                    if ![
                        regmap::PATTERN_PLAN,
                        regmap::PATTERN_FREE,
                        regmap::PATTERN_FLASH,
                    ]
                    .contains(v)
                    {
                        return Err(ExceptionCode::IllegalDataValue);
                    }
                }
                hr::UNIT_BACKUP_TIME_S => {
                    if !(1..=3600).contains(v) {
                        return Err(ExceptionCode::IllegalDataValue);
                    }
                }
                hr::STAGE_REQUEST => {
                    // only a stage the field itself runs (never a clearance stage)
                    if *v != 0 && !self.local.stages.iter().any(|s| s.number == *v) {
                        return Err(ExceptionCode::IllegalDataValue);
                    }
                }
                hr::COMMAND_VALID_UNTIL_HI
                | hr::COMMAND_VALID_UNTIL_LO
                | hr::HEARTBEAT
                | hr::COMMIT
                | hr::COMMIT_STANDBY => {}
                a if a >= hr::PLAN_BASE => {}
                _ => return Err(ExceptionCode::IllegalDataAddress),
            }
        }
        let mut commit = None;
        for (i, v) in values.iter().enumerate() {
            let a = addr + i as u16;
            self.holding[a as usize] = *v;
            match a {
                hr::STAGE_REQUEST => self.request_stage(*v),
                hr::HEARTBEAT => self.last_heartbeat = Some(self.now),
                hr::COMMIT => commit = Some((*v, false)),
                hr::COMMIT_STANDBY => commit = Some((*v, true)),
                a if a >= hr::PLAN_BASE => self.written[(a - hr::PLAN_BASE) as usize] = true,
                _ => {}
            }
        }
        if let Some((v, standby)) = commit {
            self.commit(v, standby);
        }
        // A new target (commit, stage request, pattern, heartbeat) acts on the lamps at once:
        // the engine holds or forces off the green being shown (never before its shortest
        // green) as the target asks.
        self.run_lamps(self.now);
        // a changed pattern or heartbeat shows in the status at once
        self.refresh_status();
        Ok(())
    }

    /// Enter (or leave, with 0) central stage-request mode. The request runs as a one-stage
    /// plan of the field's own stage definition, so every timing minimum stays the field's.
    fn request_stage(&mut self, number: u16) {
        self.request = self
            .local
            .stages
            .iter()
            .find(|s| s.number == number)
            .map(|st| Arc::new(EffPlan::request(st)));
    }

    /// Validate the plan area and, when every check passes, accept it (it goes on the lamps at
    /// the next stage boundary; as the `standby` plan, it becomes the local plan and the lamps
    /// and a stage-request mode go on as they are). The outcome is in the status registers.
    fn commit(&mut self, value: u16, standby: bool) {
        let area = &self.holding[hr::PLAN_BASE as usize..];
        let seq = crate::protocol::codec::join_u32(area[0], area[1]);
        let result = self.check_commit(value);
        self.written.iter_mut().for_each(|w| *w = false);
        self.status.last_commit_seq = seq;
        match result {
            Ok(plan) => {
                self.status.committed_seq = plan.seq;
                self.status.last_commit_result = 0;
                self.status.accept_count = self.status.accept_count.wrapping_add(1);
                tracing::debug!(unit = self.unit_id, seq, standby, "plan accepted");
                if standby {
                    self.standby = Some(Arc::new(plan));
                } else {
                    self.committed = Some(Arc::new(plan));
                    // a plan ends stage-request mode
                    self.request = None;
                    self.holding[hr::STAGE_REQUEST as usize] = 0;
                }
            }
            Err(code) => {
                self.status.last_commit_result = code.code();
                self.status.last_reject_reason = code.code();
                self.status.reject_count = self.status.reject_count.wrapping_add(1);
                tracing::info!(unit = self.unit_id, seq, %code, "plan refused");
            }
        }
    }

    /// Every check the field makes on a committed plan area; it trusts nothing it was sent.
    pub fn check_commit(&self, value: u16) -> Result<EffPlan, RejectCode> {
        let area = &self.holding[hr::PLAN_BASE as usize..];
        let n = area[(hr::PLAN_STAGE_COUNT - hr::PLAN_BASE) as usize] as usize;
        if n == 0 || n > MAX_PLAN_STAGES {
            return Err(RejectCode::StageCountOutOfRange);
        }
        let len = plan_len(n);
        if !self.written[..len].iter().all(|w| *w) {
            return Err(RejectCode::IncompletePlan);
        }
        if value != area[(hr::PLAN_SEQ_LO - hr::PLAN_BASE) as usize] {
            return Err(RejectCode::CommitMismatch);
        }
        let regs = PlanRegisters::decode(&area[..len])?;
        if !regmap::sequence_follows(regs.seq, self.status.committed_seq) {
            return Err(RejectCode::StaleSequence);
        }
        let plan = regs.to_signal_plan(&self.net, self.id)?;
        // 1. the shared validator against the field's own network copy and its own limits
        plan.validate(&self.net)
            .map_err(|e| RejectCode::Rule(e.rule))?;
        // 2. the stage definitions the central declared
        for b in &regs.stages {
            let idx = b.number as usize - 1;
            let declared = b.limits();
            if let Some((rule, _)) = check_limits(&declared) {
                return Err(RejectCode::Rule(rule));
            }
            if self.conflicts.check(b.groups_mask).is_err() {
                return Err(RejectCode::Rule(PlanRule::ConflictingGreens));
            }
            if b.groups_mask != self.own_masks[idx] {
                return Err(RejectCode::StageDefinitionMismatch);
            }
            let own = &self.own_limits[idx];
            let eps = 1e-6;
            if declared.min_green_s + eps < own.min_green_s
                || declared.yellow_s + eps < own.yellow_s
                || declared.all_red_s + eps < own.all_red_s
                || declared.ped_walk_s + eps < own.ped_walk_s
                || declared.ped_clearance_s + eps < own.ped_clearance_s
            {
                return Err(RejectCode::TimingBelowLocalMinimum);
            }
            let split = b.split_ds as f64 / 10.0;
            if split + eps < declared.min_split_s() {
                return Err(RejectCode::Rule(PlanRule::SplitTooShort));
            }
            let max_green = declared.max_green_s.min(own.max_green_s);
            if split - declared.change_s() > max_green + eps {
                return Err(RejectCode::Rule(PlanRule::GreenTooLong));
            }
        }
        Ok(runner::from_accepted(&regs, &self.own_max_green_ds))
    }
}

/// Whether a command valid until field time `valid_until` (ds, u32, wrapping) may take effect
/// at field time `now`: not after its deadline, and the deadline not further ahead than
/// [`regmap::MAX_COMMAND_VALIDITY_DS`] (a far deadline would let a held-up command surface late).
pub fn command_in_time(valid_until: u32, now: Ds) -> bool {
    // the field clock is u32 on the wire; compare on the wrapping circle
    let ahead = valid_until.wrapping_sub(now as u32);
    ahead <= regmap::MAX_COMMAND_VALIDITY_DS
}

/// A fresh boot epoch: the wall clock's nanoseconds mixed with a per-process counter, so two
/// units started in the same instant (or a unit restarted at once) still differ. Never 0.
fn draw_boot_epoch() -> u32 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STARTS: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut z = nanos
        ^ STARTS
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    // splitmix64's finalizer spreads the bits
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z as u32).max(1)
}

fn flags_fallback(fl: u16) -> bool {
    fl & flags::FALLBACK != 0
}

fn check_range(addr: u16, cnt: u16, end: u16, max: u16) -> Result<(), ExceptionCode> {
    if cnt == 0 || cnt > max {
        return Err(ExceptionCode::IllegalDataValue);
    }
    if addr as u32 + cnt as u32 > end as u32 {
        return Err(ExceptionCode::IllegalDataAddress);
    }
    Ok(())
}
