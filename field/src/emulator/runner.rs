//! The field controller's signal timing: the one engine of greenwave,
//! [`roadnet::timing::Runner`] (integer deciseconds; the simulator runs the same code), fed with
//! the plans the field has: its local plan, accepted central plans and central stage requests.
//! FREE, FLASH and the fallback to the local plan are the unit's state around it
//! ([`super::unit::FieldUnit`] answers the engine's `target_at`).

use crate::protocol::codec::{CodecError, PlanRegisters};
pub use roadnet::timing::{
    ConflictMatrix, EffPlan, EffStage, Lamp, Phase, Runner, Startup, Target, REQUEST_SEQ,
    TRANSITION_STEP_DIVISOR,
};
use roadnet::{IntersectionId, RoadNet};

/// The local (fallback) plan: [`controller::baseline::base_plan`], the same plan the simulator
/// runs as `native`, so a field controller on its own plan runs in step with it.
pub fn local_plan(net: &RoadNet, id: IntersectionId) -> Result<EffPlan, CodecError> {
    let plan = controller::baseline::base_plan(net, id);
    let regs = PlanRegisters::from_plan(net, 0, &plan)?;
    // the declared limits are the network's own, so there is no tighter max green to apply
    Ok(from_accepted(&regs, &[]))
}

/// The plan to run from accepted registers: declared timings (already checked to be no weaker
/// than the field's own), max green the tighter of declared and own.
pub fn from_accepted(regs: &PlanRegisters, own_max_green_ds: &[u32]) -> EffPlan {
    let stages = regs
        .stages
        .iter()
        .map(|b| {
            let yellow = b.yellow_ds as u32;
            let all_red = b.all_red_ds as u32;
            let shortest =
                (b.min_green_ds as u32).max(b.ped_walk_ds as u32 + b.ped_clearance_ds as u32);
            let own_max = own_max_green_ds
                .get(b.number as usize - 1)
                .copied()
                .unwrap_or(u32::MAX);
            EffStage {
                number: b.number,
                groups_mask: b.groups_mask,
                split_ds: b.split_ds as u32,
                green_ds: (b.split_ds as u32).saturating_sub(yellow + all_red),
                shortest_green_ds: shortest,
                max_green_ds: (b.max_green_ds as u32).min(own_max).max(shortest),
                yellow_ds: yellow,
                all_red_ds: all_red,
            }
        })
        .collect();
    EffPlan {
        seq: regs.seq,
        cycle_ds: regs.cycle_ds as u32,
        offset_ds: regs.offset_ds as u32,
        stages,
    }
}
