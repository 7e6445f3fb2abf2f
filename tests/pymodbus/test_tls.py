#!/usr/bin/env python3
"""An independent Modbus/TCP Security peer (pymodbus' ModbusTlsClient over Python's ssl)
against `greenwave field` with TLS: the operator certificate writes, the monitor certificate
reads and is refused every write with exception 01, a client without a certificate and a plain
Modbus TCP client get nothing, and the field logs each refusal.

Run:  GREENWAVE_BIN=target/release/greenwave python3 tests/pymodbus/test_tls.py
(or under pytest). Needs `pip install "pymodbus>=3.6,<4"`. The certificates come from
`greenwave field --gen-test-pki DIR` (a throw-away CA; role extension per docs/modbus.md).
"""
import os
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pymodbus.client import ModbusTcpClient, ModbusTlsClient

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("GREENWAVE_BIN", str(ROOT / "target" / "debug" / "greenwave"))
CONFIG = ROOT / "tests" / "fixtures" / "small.toml"

# docs/modbus.md
# (the heartbeat lives in the command block, HR 4-7, with its deadline: the watchdog setting,
# HR 2, is the plain operator write used here)
HR_PATTERN, HR_BACKUP = 0, 2
IR_STATUS_LEN = 45
MAGIC = 0x4757
ILLEGAL_FUNCTION = 1


def _kw(client):
    """pymodbus renamed slave= to device_id= in 3.10."""
    import inspect
    params = inspect.signature(client.read_input_registers).parameters
    return {("device_id" if "device_id" in params else "slave"): 1}


class FieldContext(ssl.SSLContext):
    """pymodbus' synchronous TLS client wraps its socket without a server name; the field's
    certificate is checked against the host it was issued for (127.0.0.1) all the same."""

    def wrap_socket(self, sock, *args, **kwargs):
        kwargs.setdefault("server_hostname", "127.0.0.1")
        return super().wrap_socket(sock, *args, **kwargs)


def context(pki, name=None):
    """A TLS 1.2+ client context trusting the test CA and checking the field's name, with
    `name`.pem/.key as the client certificate (None: no client certificate)."""
    ctx = FieldContext(ssl.PROTOCOL_TLS_CLIENT)
    assert ctx.check_hostname and ctx.verify_mode == ssl.CERT_REQUIRED
    ctx.load_verify_locations(cafile=str(pki / "ca.pem"))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if name is not None:
        ctx.load_cert_chain(str(pki / f"{name}.pem"), str(pki / f"{name}.key"))
    return ctx


class Field:
    def __init__(self, pki, log):
        self.proc = subprocess.Popen(
            [BIN, "--quiet", "field", "--config", str(CONFIG), "--ephemeral-ports",
             "--speedup", "20", "--ca", str(pki / "ca.pem"), "--cert", str(pki / "server.pem"),
             "--key", str(pki / "server.key")],
            stdout=subprocess.PIPE, stderr=log, text=True)
        self.ports = {}
        deadline = time.time() + 60
        while len(self.ports) < 2 and time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            parts = line.split()
            if parts and parts[0] == "listening":
                configured = int(parts[1].rsplit(":", 1)[1])
                self.ports[configured] = int(parts[-1].rsplit(":", 1)[1])
        assert len(self.ports) == 2, f"greenwave field did not start: {self.ports}"
        self.port = self.ports[5101]

    def client(self, sslctx):
        return ModbusTlsClient("127.0.0.1", port=self.port, sslctx=sslctx, timeout=3, retries=1)

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def write_refused(client, kw, value):
    """True when writing `value` (1..3600) to the watchdog setting did not succeed: no
    connection, an exception raised, or an error response."""
    try:
        if not client.connect():
            return True
        r = client.write_register(HR_BACKUP, value, **kw)
    except Exception:  # noqa: BLE001 - any failure is a refusal here
        return True
    finally:
        client.close()
    return r.isError()


def test_tls():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        pki = tmp / "pki"
        subprocess.run([BIN, "--quiet", "field", "--gen-test-pki", str(pki), "--config",
                        str(CONFIG)], check=True, capture_output=True)
        log_path = tmp / "field.log"
        with open(log_path, "w") as log:
            f = Field(pki, log)
            try:
                run_checks(f, pki)
            finally:
                f.close()
        log_text = log_path.read_text()
    assert "refused: the certificate's role may only read" in log_text, log_text
    assert 'role="monitor"' in log_text, log_text
    assert "TLS handshake refused" in log_text, log_text
    print("pymodbus over TLS: operator writes, monitor reads and is refused writes (exception "
          "01), no certificate and plain TCP refused; refusals logged")


def run_checks(f, pki):
    # the operator: reads the status, writes the heartbeat and reads it back
    op = f.client(context(pki, "operator"))
    assert op.connect(), "operator TLS connection"
    kw = _kw(op)
    st = op.read_input_registers(0, count=IR_STATUS_LEN, **kw)
    assert not st.isError(), st
    assert st.registers[1] == MAGIC, st.registers[:2]
    w = op.write_register(HR_BACKUP, 1234, **kw)
    assert not w.isError(), w
    assert op.read_holding_registers(HR_BACKUP, count=1, **kw).registers == [1234]

    # the monitor: reads, and every write is answered exception 01 and changes nothing
    mon = f.client(context(pki, "monitor"))
    assert mon.connect(), "monitor TLS connection"
    st = mon.read_input_registers(0, count=IR_STATUS_LEN, **kw)
    assert not st.isError() and st.registers[1] == MAGIC, st
    for i in range(20):
        addr, value = [(HR_PATTERN, 2), (HR_BACKUP, 1000 + i), (HR_BACKUP, 3600)][i % 3]
        r = mon.write_registers(addr, [value], **kw) if i % 2 else \
            mon.write_register(addr, value, **kw)
        assert r.isError() and r.exception_code == ILLEGAL_FUNCTION, (i, r)
    mon.close()
    held = op.read_holding_registers(0, count=3, **kw).registers
    assert held[0] == 1 and held[2] == 1234, held  # PLAN, and the operator's watchdog setting

    # no client certificate: no session that can write (the same call with the operator's
    # certificate succeeds, so the check can tell)
    assert not write_refused(f.client(context(pki, "operator")), kw, 1234)
    for i in range(5):
        assert write_refused(f.client(context(pki, None)), kw, 2000 + i), i
    # plain Modbus TCP against the TLS port
    plain = ModbusTcpClient("127.0.0.1", port=f.port, timeout=2, retries=1)
    assert write_refused(plain, kw, 3000)
    assert op.read_holding_registers(HR_BACKUP, count=1, **kw).registers == [1234]
    op.close()


if __name__ == "__main__":
    test_tls()
    print("1 passed, 0 failed")
    sys.exit(0)
