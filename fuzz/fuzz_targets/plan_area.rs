//! The plan area as a field controller receives it: big-endian words written from HR 100 (in
//! write-multiple chunks of at most 123), then a commit with the sequence number's low word.
//! The decoder (`PlanRegisters::decode`), the field's checks (`FieldUnit::check_commit`) and —
//! when a plan is accepted — the timing runner over two of its cycles must never panic, and an
//! accepted plan must never show conflicting greens. The first byte picks the intersection;
//! its high bit asks for the checksum to be made right, so that mutations reach past it.
#![no_main]

#[path = "common.rs"]
mod common;

use field::protocol::codec::{plan_crc, plan_len, PlanRegisters};
use field::protocol::regmap::{hr, MAX_PLAN_STAGES, MAX_WRITE_REGS};
use field::{FieldUnit, IdleSource};
use libfuzzer_sys::fuzz_target;


fuzz_target!(|data: &[u8]| {
    let net = common::bundled_net();
    let Some((first, words)) = data.split_first() else {
        return;
    };
    let mut words: Vec<u16> = words
        .chunks_exact(2)
        .map(|w| u16::from_be_bytes([w[0], w[1]]))
        .take((hr::END - hr::PLAN_BASE) as usize)
        .collect();
    let checksum = (hr::PLAN_CHECKSUM - hr::PLAN_BASE) as usize;
    let stages = (hr::PLAN_STAGE_COUNT - hr::PLAN_BASE) as usize;
    if first & 0x80 != 0 && words.len() > checksum {
        let n = (words[stages] as usize).min(MAX_PLAN_STAGES);
        let len = plan_len(n).min(words.len());
        words[checksum] = plan_crc(&words[..len]);
    }
    let _ = PlanRegisters::decode(&words);
    let signalized: Vec<_> = net.signalized().map(|i| i.id).collect();
    let id = signalized[(*first & 0x7f) as usize % signalized.len()];
    let mut unit = FieldUnit::new(net.clone(), id, 0, Box::new(IdleSource)).expect("unit");
    for (k, chunk) in words.chunks(MAX_WRITE_REGS as usize).enumerate() {
        let addr = hr::PLAN_BASE + (k * MAX_WRITE_REGS as usize) as u16;
        let _ = unit.write_holding(addr, chunk);
    }
    let seq_lo = words.get(1).copied().unwrap_or(0);
    if unit.check_commit(seq_lo).is_ok() {
        let _ = unit.write_holding(hr::COMMIT, &[seq_lo]);
        let cycle_ds = unit.committed_plan().map_or(600, |p| p.cycle_ds as u64);
        // the central's heartbeat keeps the plan on the lamps
        let until = 2 * cycle_ds.min(20_000) + 100;
        let mut t = 0;
        while t < until {
            t += 7;
            let deadline = (t + 50) as u32;
            let _ = unit.write_holding(
                hr::COMMAND_VALID_UNTIL_HI,
                &[(deadline >> 16) as u16, deadline as u16, t as u16],
            );
            unit.advance_to(t);
            let green = unit.runner().green_mask();
            assert!(unit.conflict_matrix().check(green).is_ok(), "conflicting greens");
        }
        assert_eq!(unit.status().conflict_faults, 0);
    }
});
