//! Modbus field link: plan push + verified read-back to 1,000 emulated controllers on
//! loopback (target < 0.5 s per round), and the pure codec (encode, decode + CRC, the field's
//! full commit check).

use controller::baseline::base_plan;
use criterion::{criterion_group, criterion_main, Criterion};
use field::bench::{bench_link_config, synthetic_network_toml, Fleet};
use field::protocol::codec::{crc16, PlanRegisters};
use field::{FieldUnit, IdleSource};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

fn fleet_push(c: &mut Criterion) {
    let n = 1000;
    let net = Arc::new(
        roadnet::config::parse_toml(&synthetic_network_toml(n), "synthetic.toml").unwrap(),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut fleet = rt.block_on(Fleet::start(net, bench_link_config())).unwrap();
    rt.block_on(fleet.push_round(0)).unwrap();
    let mut round = 1;
    let mut g = c.benchmark_group("modbus");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("push_verify_1000_controllers", |b| {
        b.iter(|| {
            round += 1;
            rt.block_on(fleet.push_round(round)).unwrap()
        })
    });
    g.finish();
}

fn codec(c: &mut Criterion) {
    let net = Arc::new(
        roadnet::config::parse_toml(&synthetic_network_toml(1), "synthetic.toml").unwrap(),
    );
    let id = net.intersection_by_name("i0").unwrap();
    let plan = base_plan(&net, id);
    let regs = PlanRegisters::from_plan(&net, 1, &plan).unwrap();
    let words = regs.to_registers();
    let mut g = c.benchmark_group("modbus_codec");
    g.bench_function("encode_plan", |b| {
        b.iter(|| {
            PlanRegisters::from_plan(black_box(&net), 7, black_box(&plan))
                .unwrap()
                .to_registers()
        })
    });
    g.bench_function("decode_plan_with_crc", |b| {
        b.iter(|| PlanRegisters::decode(black_box(&words)).unwrap())
    });
    g.bench_function("crc16_26_registers", |b| {
        b.iter(|| crc16(black_box(&words).iter().copied()))
    });
    let mut unit = FieldUnit::new(net.clone(), id, 0, Box::new(IdleSource)).unwrap();
    unit.write_holding(100, &words).unwrap();
    g.bench_function("field_commit_check", |b| {
        b.iter(|| unit.check_commit(black_box(words[1])).unwrap())
    });
    g.finish();
}

criterion_group!(benches, codec, fleet_push);
criterion_main!(benches);
