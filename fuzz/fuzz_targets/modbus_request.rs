//! Modbus requests as the field decodes and answers them: a stream of
//! `[unit id, clock step (ds), PDU length, PDU…]` records, each decoded as the server decodes
//! it (`field::emulator::server::decode_request`: tokio-modbus's decoder behind a guard) and
//! answered by a field emulator of the bundled network's first field controller (the one
//! endpoint the target serves), as the server does for every frame. Sequences let the fuzzer
//! write a plan area, commit it and let the clock run it. Nothing may panic; every answer is a
//! response or an exception code.
#![no_main]

#[path = "common.rs"]
mod common;

use field::{Clock, FieldEmulator, IdleSource, ManualClock};
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;
use tokio_modbus::SlaveRequest;


fuzz_target!(|data: &[u8]| {
    let net = common::one_unit_net();
    let clock = ManualClock::new(0);
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let emu = FieldEmulator::new(net, dyn_clock, |_| Box::new(IdleSource)).expect("emulator");
    let Some(svc) = emu.endpoints().keys().next().and_then(|ep| emu.service(ep)) else {
        return;
    };
    let mut rest = data;
    while rest.len() >= 3 {
        let (unit, step, len) = (rest[0], rest[1], rest[2] as usize);
        rest = &rest[3..];
        let pdu = &rest[..len.min(rest.len())];
        rest = &rest[pdu.len()..];
        clock.advance(step as u64);
        emu.advance_all();
        if let Ok(request) = field::emulator::server::decode_request(pdu) {
            let _ = svc.answer(SlaveRequest { slave: unit, request }, None);
        }
    }
});
