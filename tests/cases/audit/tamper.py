#!/usr/bin/env python3
"""Tampering tool for the audit-log tests: edits segment files frame by frame the way an attacker
with write access to the disk could (frame = 12-byte header: type, version, 2 reserved bytes,
u32 LE payload length, u32 LE CRC-32C; then the payload).

usage: tamper.py SEGMENT flip SEQ            flip one payload byte of record SEQ (CRC left stale)
       tamper.py SEGMENT flip-fixcrc SEQ     same, but recompute the CRC (a careful attacker)
       tamper.py SEGMENT delete SEQ          remove record SEQ's frame
       tamper.py SEGMENT swap SEQ            swap the frames of records SEQ and SEQ+1
       tamper.py SEGMENT cut-into SEQ        truncate the file in the middle of record SEQ
       tamper.py SEGMENT cut-before SEQ      truncate the file just before record SEQ
       tamper.py SEGMENT stale-sth OLD NEW   replace the checkpoint of tree size NEW with the one of size OLD
       tamper.py SEGMENT drop-sth SIZE       remove the checkpoint of tree size SIZE
       tamper.py SEGMENT drop-tenants        remove the segment header's "tenants" table (as a header
                                             written before tenant_prev; not signed, so only the CRC changes)
       tamper.py SEGMENT set-tenant NAME JSON put NAME -> JSON (raw text, e.g. 99 or "x") in the segment
                                             header's "tenants" table (added or replaced; CRC recomputed)
       tamper.py SEGMENT list                print the frames
"""
import json
import re
import struct
import sys


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def frames(buf):
    off, out = 0, []
    while off + 12 <= len(buf):
        t, _v, length, _crc = struct.unpack_from("<BBxxII", buf, off)
        out.append({"type": chr(t), "off": off, "end": off + 12 + length,
                    "payload": bytes(buf[off + 12:off + 12 + length])})
        off += 12 + length
    return out


def record_seq(payload):
    m = re.findall(rb',"seq":(\d+),', payload)
    return int(m[-1]) if m else None


def find(fs, seq):
    for f in fs:
        if f["type"] == "R" and record_seq(f["payload"]) == seq:
            return f
    sys.exit(f"record {seq} not in this segment")


def sth(f):
    return json.loads(f["payload"])["sth"]


def find_sth(fs, size):
    for f in fs:
        if f["type"] == "C" and sth(f)["size"] == size:
            return f
    sys.exit(f"no checkpoint of size {size} in this segment")


def frame_bytes(type_ch, payload):
    hdr = struct.pack("<BBxxI", ord(type_ch), 1, len(payload))
    return hdr + struct.pack("<I", crc32c(hdr + payload)) + payload


def main():
    path, op = sys.argv[1], sys.argv[2]
    args = [int(a) for a in sys.argv[3:]] if op != "set-tenant" else sys.argv[3:]
    buf = bytearray(open(path, "rb").read())
    fs = frames(buf)
    if op == "list":
        for f in fs:
            extra = record_seq(f["payload"]) if f["type"] == "R" else (sth(f)["size"] if f["type"] in "CS" else "")
            print(f["type"], f["off"], f["end"], extra)
        return
    if op in ("flip", "flip-fixcrc"):
        f = find(fs, args[0])
        pos = f["off"] + 12 + 3  # inside '"action"'
        buf[pos] ^= 0x01
        if op == "flip-fixcrc":
            payload = bytes(buf[f["off"] + 12:f["end"]])
            hdr = bytes(buf[f["off"]:f["off"] + 8])
            buf[f["off"] + 8:f["off"] + 12] = struct.pack("<I", crc32c(hdr + payload))
    elif op == "delete":
        f = find(fs, args[0])
        del buf[f["off"]:f["end"]]
    elif op == "swap":
        a, b = find(fs, args[0]), find(fs, args[0] + 1)
        assert a["end"] == b["off"], "records not adjacent"
        buf[a["off"]:b["end"]] = bytes(buf[b["off"]:b["end"]]) + bytes(buf[a["off"]:a["end"]])
    elif op == "cut-into":
        f = find(fs, args[0])
        del buf[f["off"] + 20:]
    elif op == "cut-before":
        f = find(fs, args[0])
        del buf[f["off"]:]
    elif op == "stale-sth":
        old, new = find_sth(fs, args[0]), find_sth(fs, args[1])
        buf[new["off"]:new["end"]] = bytes(buf[old["off"]:old["end"]])
    elif op == "drop-sth":
        f = find_sth(fs, args[0])
        del buf[f["off"]:f["end"]]
    elif op == "drop-tenants":
        f = fs[0]
        assert f["type"] == "S", "no segment header"
        # by text, so the rest of the header keeps its bytes (tenant names without braces)
        payload, n = re.subn(rb',"tenants":\{[^{}]*\}|"tenants":\{[^{}]*\},', b"", f["payload"])
        assert n == 1, "no tenants table"
        buf[f["off"]:f["end"]] = frame_bytes("S", payload)
    elif op == "set-tenant":
        f = fs[0]
        assert f["type"] == "S", "no segment header"
        m = re.search(rb'"tenants":\{([^{}]*)\}', f["payload"])
        assert m, "no tenants table"
        entries = json.loads(b"{" + m.group(1) + b"}")
        entries[args[0]] = json.loads(args[1])
        # by text again: only the table changes (keys sorted as the writer sorts them)
        table = json.dumps(entries, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        payload = f["payload"][:m.start()] + b'"tenants":' + table.encode() + f["payload"][m.end():]
        buf[f["off"]:f["end"]] = frame_bytes("S", payload)
    else:
        sys.exit(f"unknown operation {op}")
    open(path, "wb").write(buf)


if __name__ == "__main__":
    main()
