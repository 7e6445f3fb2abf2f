#!/usr/bin/env python3
"""An independent Modbus client (pymodbus) proves docs/modbus.md against `greenwave field`.

Run:  GREENWAVE_BIN=target/debug/greenwave python3 tests/pymodbus/test_register_map.py
(or under pytest). Needs `pip install "pymodbus>=3.6,<4"`. Everything below is written from
docs/modbus.md alone: addresses, CRC, stage blocks, reason codes.
"""
import os
import subprocess
import sys
import time
from pathlib import Path

from pymodbus.client import ModbusTcpClient

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("GREENWAVE_BIN", str(ROOT / "target" / "debug" / "greenwave"))
CONFIG = ROOT / "tests" / "fixtures" / "small.toml"

# docs/modbus.md
HR_PATTERN, HR_BACKUP, HR_COMMAND, HR_COMMIT, HR_PLAN = 0, 2, 4, 10, 100
MAP_VERSION = 3
MAX_COMMAND_VALIDITY_DS = 100
IR_STATUS_LEN = 47
IR_DET = 100
MAGIC = 0x4757


def crc16_modbus(words):
    crc = 0xFFFF
    for w in words:
        for b in ((w >> 8) & 0xFF, w & 0xFF):
            crc ^= b
            for _ in range(8):
                crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def plan_area(seq, cycle_ds, offset_ds, stages):
    """stages: list of dicts with number, groups, split, min_green, max_green, yellow, all_red,
    walk, ped_clear (times in ds)."""
    area = [(seq >> 16) & 0xFFFF, seq & 0xFFFF, cycle_ds, offset_ds, len(stages), 0]
    for s in stages:
        area += [s["number"], (s["groups"] >> 16) & 0xFFFF, s["groups"] & 0xFFFF, s["split"],
                 s["min_green"], s["max_green"], s["yellow"], s["all_red"], s["walk"],
                 s["ped_clear"]]
    area[5] = crc16_modbus(area[:5] + area[6:])
    return area


# Intersection "a" of tests/fixtures/small.toml: groups EW(bit 0) EW_L(1) NS(2) NS_L(3);
# stage 1 "ew": min green 10 s, max 50 s, yellow 4 s, all-red 2 s; stage 2 "ns": defaults
# min 7 s, max 60 s, yellow 4 s, all-red 2 s.
EW = dict(number=1, groups=0b0011, split=400, min_green=100, max_green=500, yellow=40,
          all_red=20, walk=0, ped_clear=0)
NS = dict(number=2, groups=0b1100, split=300, min_green=70, max_green=600, yellow=40,
          all_red=20, walk=0, ped_clear=0)


def _kw(client):
    """pymodbus renamed slave= to device_id= in 3.10."""
    import inspect
    params = inspect.signature(client.read_input_registers).parameters
    return "device_id" if "device_id" in params else "slave"


class Field:
    def __init__(self):
        self.proc = subprocess.Popen(
            [BIN, "--quiet", "field", "--config", str(CONFIG), "--ephemeral-ports",
             "--detectors", "counter:3600", "--speedup", "20", "--insecure-plain"],
            stdout=subprocess.PIPE, text=True)
        self.ports = {}
        deadline = time.time() + 60
        while len(self.ports) < 2 and time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            # listening 127.0.0.1:5101 units [1] on 127.0.0.1:40123
            parts = line.split()
            if parts and parts[0] == "listening":
                configured = int(parts[1].rsplit(":", 1)[1])
                self.ports[configured] = int(parts[-1].rsplit(":", 1)[1])
        assert len(self.ports) == 2, f"greenwave field did not start: {self.ports}"
        self.c = ModbusTcpClient("127.0.0.1", port=self.ports[5101], timeout=5)
        assert self.c.connect()
        self.kw = {_kw(self.c): 1}

    def close(self):
        self.c.close()
        self.proc.terminate()
        self.proc.wait(timeout=30)

    def ir(self, addr, count):
        r = self.c.read_input_registers(addr, count=count, **self.kw)
        assert not r.isError(), r
        return r.registers

    def hr(self, addr, count):
        r = self.c.read_holding_registers(addr, count=count, **self.kw)
        assert not r.isError(), r
        return r.registers

    def write(self, addr, values):
        r = self.c.write_registers(addr, values, **self.kw)
        assert not r.isError(), r

    def command(self, heartbeat, stage=None, valid_for_ds=80):
        """The command block: a deadline on the field clock, the heartbeat, the stage request."""
        now = u32(self.ir(0, 12), 10)
        until = (now + valid_for_ds) % (1 << 32)
        values = [until >> 16, until & 0xFFFF, heartbeat] + ([] if stage is None else [stage])
        return self.c.write_registers(HR_COMMAND, values, **self.kw)

    def commit(self, area):
        self.write(HR_PLAN, area)
        assert self.hr(HR_PLAN, len(area)) == area  # read-back
        self.write(HR_COMMIT, [area[1]])
        return self.ir(0, IR_STATUS_LEN)


def u32(st, addr):
    return (st[addr] << 16) | st[addr + 1]


def test_register_map():
    f = Field()
    try:
        st = f.ir(0, IR_STATUS_LEN)
        assert st[0] == MAP_VERSION and st[1] == MAGIC, st[:2]
        assert u32(st, 12) != 0  # boot epoch
        assert st[2] == 1  # unit id
        assert st[3] == 2 and st[4] == 4 and st[5] == 2  # stages, groups, detectors
        assert st[22] == 2  # running the local plan
        assert st[24] in (0, 1, 2)
        assert st[27] & 1  # FALLBACK: no heartbeat yet
        assert st[7] == 520  # local cycle: (20+6) + (20+6) s

        # detectors: counts advance and wrap-free deltas add up
        d0 = f.ir(IR_DET, 8)
        time.sleep(1.0)
        d1 = f.ir(IR_DET, 8)
        for d in range(2):
            assert (d1[4 * d] - d0[4 * d]) % 65536 > 0, "counter source counts"
            assert d1[4 * d + 3] & 1, "detector healthy"

        # heartbeat and backup time
        f.write(HR_BACKUP, [30])
        assert not f.command(7).isError()
        st = f.ir(0, IR_STATUS_LEN)
        assert st[38] == 7 and not st[27] & 1
        # a command past its deadline, or valid for too long, is refused (exception 3), counted
        r = f.command(9, valid_for_ds=-1)
        assert r.isError() and r.exception_code == 3, r
        r = f.command(9, valid_for_ds=MAX_COMMAND_VALIDITY_DS + 50)
        assert r.isError() and r.exception_code == 3, r
        st = f.ir(0, IR_STATUS_LEN)
        assert st[38] == 7 and st[14] == 2, (st[38], st[14])
        # a heartbeat without its deadline has no address (exception 2)
        r = f.c.write_register(HR_COMMAND + 2, 9, **f.kw)
        assert r.isError() and r.exception_code == 2

        # a plan the field accepts: cycle 70 s, offset 25 s
        seq = 1000
        st = f.commit(plan_area(seq, 700, 250, [EW, NS]))
        assert st[34] == 0, f"refused with {st[34]}"
        assert u32(st, 30) == seq and u32(st, 32) == seq

        # ... and goes on the lamps at a stage boundary (field runs 20x real time)
        deadline = time.time() + 30
        while time.time() < deadline:
            assert not f.command(8).isError()
            st = f.ir(0, IR_STATUS_LEN)
            if u32(st, 20) == seq:
                break
            time.sleep(0.05)
        assert u32(st, 20) == seq and st[22] == 1, st
        assert st[28] == 700 and st[29] == 250
        green = u32(st, 40)
        assert green in (0, 0b0011, 0b1100, 0b0011 & 0b1100), green

        # green shown (IR 46): the time in stage during green, the green that was shown
        # (time in stage less the change interval so far) during yellow; no more in all-red
        seen = set()
        deadline = time.time() + 5
        while time.time() < deadline and len(seen) < 3:
            st = f.ir(0, IR_STATUS_LEN)
            interval, in_stage, in_interval, shown = st[24], st[25], st[26], st[46]
            if interval == 0:
                assert shown == in_stage, st
            elif interval == 1:
                assert shown == in_stage - in_interval and shown > 0, st
            elif interval == 2:
                assert 0 < shown <= in_stage - in_interval, st
            seen.add(interval)
            time.sleep(0.02)
        assert seen == {0, 1, 2}, seen

        # a plan it refuses: EW and NS green together (conflicting greens, code 1)
        bad = dict(EW, groups=0b0111)
        st = f.commit(plan_area(seq + 1, 700, 250, [bad, NS]))
        assert st[34] == 1 and st[35] == 1, st[34]
        assert u32(st, 30) == seq  # still the accepted plan

        # yellow 2.5 s (code 2), offset = cycle (code 6), bad checksum (32), stale (34)
        st = f.commit(plan_area(seq + 2, 700, 250, [dict(EW, yellow=25, all_red=35), NS]))
        assert st[34] == 2, st[34]
        st = f.commit(plan_area(seq + 3, 700, 700, [EW, NS]))
        assert st[34] == 6, st[34]
        area = plan_area(seq + 4, 700, 250, [EW, NS])
        area[5] ^= 1
        st = f.commit(area)
        assert st[34] == 32, st[34]
        st = f.commit(plan_area(seq, 700, 250, [EW, NS]))
        assert st[34] == 34, st[34]
        # no single write can lock the central out: a number far ahead is stale too
        st = f.commit(plan_area(0xFFFFFFFF, 700, 250, [EW, NS]))
        assert st[34] == 34, st[34]

        # exceptions: beyond the map, read-only register, illegal pattern value
        r = f.c.read_holding_registers(260, count=10, **f.kw)
        assert r.isError() and r.exception_code == 2
        r = f.c.write_register(8, 1, **f.kw)
        assert r.isError() and r.exception_code == 2
        r = f.c.write_register(HR_PATTERN, 7, **f.kw)
        assert r.isError() and r.exception_code == 3
    finally:
        f.close()


if __name__ == "__main__":
    test_register_map()
    print("pymodbus register-map test: ok")
    sys.exit(0)
