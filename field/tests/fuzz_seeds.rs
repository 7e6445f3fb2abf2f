//! The fuzz targets' seed corpus (`fuzz/corpus/`) holds inputs that reach deep: a valid plan
//! area the field accepts, and a Modbus session that writes, commits and runs it. This test
//! proves the committed seeds still do (after a register-map change they would silently stop
//! reaching past the first check); `GREENWAVE_BLESS=1` rewrites them.

use field::protocol::codec::PlanRegisters;
use field::protocol::regmap::{hr, ir};
use field::{Clock, FieldEmulator, FieldUnit, IdleSource, ManualClock};
use std::path::PathBuf;
use std::sync::Arc;
use tokio_modbus::SlaveRequest;

fn corpus(target: &str, name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus"))
        .join(target)
        .join(name)
}

fn bundled() -> Arc<roadnet::RoadNet> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../intersections.toml");
    Arc::new(roadnet::load_network(std::path::Path::new(path)).unwrap())
}

fn check_or_bless(path: PathBuf, want: Vec<u8>) {
    if std::env::var_os("GREENWAVE_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        have,
        want,
        "{} is stale: GREENWAVE_BLESS=1 rewrites it",
        path.display()
    );
}

/// The base plan of intersection `id` as plan-area words.
fn plan_words(net: &roadnet::RoadNet, id: roadnet::IntersectionId) -> Vec<u16> {
    let plan = controller::baseline::base_plan(net, id);
    PlanRegisters::from_plan(net, 1, &plan)
        .unwrap()
        .to_registers()
}

#[test]
fn the_plan_seed_is_a_plan_the_field_accepts() {
    let net = bundled();
    // the target's selector 0 is the first signalized intersection
    let id = net.signalized().next().unwrap().id;
    let area = plan_words(&net, id);
    let mut unit = FieldUnit::new(net.clone(), id, 0, Box::new(IdleSource)).unwrap();
    unit.write_holding(hr::PLAN_BASE, &area).unwrap();
    assert!(unit.check_commit(area[1]).is_ok());
    // selector 0: the first signal, checksum as sent
    let mut bytes = vec![0u8];
    bytes.extend(area.iter().flat_map(|w| w.to_be_bytes()));
    check_or_bless(corpus("plan_area", "base_plan_first_signal"), bytes);
}

#[test]
fn the_modbus_seed_is_a_session_the_field_accepts() {
    let net = bundled();
    // the target answers through the first endpoint's service; the seed talks to its first unit
    let clock = ManualClock::new(0);
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let emu = FieldEmulator::new(net.clone(), dyn_clock, |_| Box::new(IdleSource)).unwrap();
    let ep = emu.endpoints().keys().next().unwrap().clone();
    let svc = emu.service(&ep).unwrap();
    let (&unit_id, &id) = emu.endpoints()[&ep].iter().next().unwrap();
    let area = plan_words(&net, id);
    // records: [unit id, clock step ds, pdu length, pdu]
    let mut session = Vec::new();
    let mut record = |step: u8, pdu: Vec<u8>| {
        session.extend([unit_id, step, pdu.len() as u8]);
        session.extend(pdu);
    };
    record(0, vec![0x04, 0, 0, 0, ir::STATUS_END as u8]);
    let fc16 = |addr: u16, words: &[u16]| {
        let mut pdu = vec![0x10];
        pdu.extend(addr.to_be_bytes());
        pdu.extend((words.len() as u16).to_be_bytes());
        pdu.push((words.len() * 2) as u8);
        pdu.extend(words.iter().flat_map(|w| w.to_be_bytes()));
        pdu
    };
    record(0, fc16(hr::COMMAND_VALID_UNTIL_HI, &[0, 50, 1, 0]));
    record(1, fc16(hr::PLAN_BASE, &area));
    record(
        0,
        vec![
            0x06,
            0,
            hr::COMMIT as u8,
            (area[1] >> 8) as u8,
            area[1] as u8,
        ],
    );
    record(200, vec![0x04, 0, 0, 0, ir::STATUS_END as u8]);
    record(0, vec![0x04, 0, 98, 0, 10]);
    // replayed as the fuzz target does, the session leaves plan 1 committed
    let mut rest = &session[..];
    while rest.len() >= 3 {
        let (unit, step, len) = (rest[0], rest[1], rest[2] as usize);
        let pdu = &rest[3..3 + len];
        rest = &rest[3 + len..];
        clock.advance(step as u64);
        emu.advance_all();
        let request = field::emulator::server::decode_request(pdu).unwrap();
        svc.answer(
            SlaveRequest {
                slave: unit,
                request,
            },
            None,
        )
        .unwrap_or_else(|e| panic!("{pdu:?}: {e:?}"));
    }
    let st = field::emulator::server::lock(emu.unit(id).unwrap()).status();
    assert_eq!((st.committed_seq, st.last_commit_result), (1, 0));
    check_or_bless(corpus("modbus_request", "push_and_commit"), session);
}

#[test]
fn the_requests_the_fuzzer_found_are_refused_before_the_decoder() {
    use field::emulator::server::decode_request;
    use tokio_modbus::ExceptionCode;
    // FC 16 asking for 0x8200 registers: tokio-modbus doubles the count in 16 bits
    let fc16 = [0x10, 0x00, 0x0e, 0x82, 0x00, 0x04, 0, 0, 0, 0];
    assert_eq!(
        decode_request(&fc16).unwrap_err(),
        ExceptionCode::IllegalDataValue
    );
    // FC 15 with 500 coils in one byte: its decoder indexes past the bytes
    let fc15 = [0x0f, 0x00, 0x00, 0x01, 0xf4, 0x01, 0xff];
    assert_eq!(
        decode_request(&fc15).unwrap_err(),
        ExceptionCode::IllegalFunction
    );
    // what the field serves still decodes
    assert!(decode_request(&[0x03, 0, 0, 0, 4]).is_ok());
    assert!(decode_request(&[0x10, 0, 4, 0, 1, 2, 0, 7]).is_ok());
    assert_eq!(
        decode_request(&[0x10, 0, 4, 0, 2, 2, 0, 7]).unwrap_err(),
        ExceptionCode::IllegalDataValue
    );
}
