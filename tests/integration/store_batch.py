#!/usr/bin/env python3
"""A batch for the store's batch insert (store ingest, POST /api/v1/events) and the rows it must
leave, so a test compares them row by row. Usage: store_batch.py make OUTDIR HOST, then
store_batch.py check OUTDIR BASE_ID < rows.

Writes OUTDIR/pre.json (one line stored before the batch, so the batch holds a duplicate of a
stored event), OUTDIR/batch.json (1205 lines: three tenants, alerts and flows, times that run
backwards so time order is not the order stored, a malformed line, a line naming the reserved
tenant 'provider', duplicates of an earlier line next to it and across the first 1000 rows) and
OUTDIR/expected.txt: one line per row the batch must store, in the order stored, as
`SLOT KIND TYPE CLAUSE TENANT TENANT2 HOST RECORD` (tab-separated; RECORD as JSON with sorted keys; SLOT
the row's place among the lines that reached the store, duplicates included, which is how
both backends hand out ids)."""
import json
import os
import sys

N = 1205
BAD_LINE = 7            # not JSON
PROVIDER_LINE = 700     # tenant 'provider': refused without --policy
DUP_OF = {10: 9, 1003: 5}  # line -> the earlier line it repeats
PRE_LINE = 21           # stored before the batch


def record(i):
    tenants = ["tenant-a", "tenant-b", ""]
    r = {
        # backwards in time: a listing by time would show the rows reversed
        "timestamp": "2026-03-01T%02d:%02d:%02d.%06d+00:00"
        % (23 - i // 3600 % 24, 59 - i // 60 % 60, 59 - i % 60, i),
        "event_type": "flow" if i % 5 == 0 else "alert",
        "src_ip": "10.%d.%d.5" % (i // 250, i % 250),
        "seq": i,
        "dengbao": {"clause": "8.2.3.%d" % (i % 7) if i % 7 else "", "src": {"tenant": tenants[i % 3]}},
    }
    if r["event_type"] == "alert":
        r["alert"] = {"signature": "batch_%d" % i, "severity": 1 + i % 3}
    if i % 4 == 1:
        r["dengbao"]["dest"] = {"tenant": tenants[(i + 1) % 3]}
    if i == PROVIDER_LINE:
        r["dengbao"]["src"]["tenant"] = "provider"
    return r


def make(out, host):
    lines, expected = [], []
    seen = set()
    slot = 0
    with open(os.path.join(out, "pre.json"), "w") as f:
        f.write(json.dumps(record(PRE_LINE)) + "\n")
    seen.add(PRE_LINE)
    for i in range(1, N + 1):
        if i == BAD_LINE:
            lines.append('{"timestamp": "2026-03-01T00:00:00Z", broken')
            continue
        src = DUP_OF.get(i, i)
        r = record(src)
        # other spacing and key order than the first copy: still the same event
        lines.append(json.dumps(r, sort_keys=i != src, indent=None if i == src else 1)
                     .replace("\n", ""))
        if i == PROVIDER_LINE:
            continue
        slot += 1
        if src in seen:
            continue
        seen.add(src)
        d = r["dengbao"]
        expected.append("\t".join([
            str(slot - 1), r["event_type"], r.get("alert", {}).get("signature", ""),
            d["clause"], d["src"]["tenant"], d.get("dest", {}).get("tenant", ""), host,
            json.dumps(r, sort_keys=True, separators=(",", ":"))]))
    with open(os.path.join(out, "batch.json"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(out, "expected.txt"), "w") as f:
        f.write("\n".join(expected) + "\n")


def check(out, base_id):
    """Compares the rows listed after BASE_ID (store query --format json or the API's events,
    one JSON object a line on stdin, in the order stored) with expected.txt. Ids as both
    backends hand them out: each line that reached the store took one, so a duplicate leaves its
    id unused. Prints the first difference, or how many rows matched."""
    with open(os.path.join(out, "expected.txt")) as f:
        expected = [l.rstrip("\n").split("\t") for l in f if l.strip()]
    got = [json.loads(l) for l in sys.stdin if l.strip()]
    for k, (e, g) in enumerate(zip(expected, got)):
        want_id = base_id + 1 + int(e[0])
        rec = json.dumps(g["record"], sort_keys=True, separators=(",", ":"))
        row = [g["kind"], g["type"], g["clause"], g["tenant"], g["tenant2"], g["host"], rec]
        if g["id"] != want_id or row != e[1:] or g["time"] != time_of(json.loads(e[7])):
            print("row %d: expected id %d %s at %s, got id %d %s at %s"
                  % (k + 1, want_id, e[1:], time_of(json.loads(e[7])), g["id"], row, g["time"]))
            return
    if len(got) != len(expected):
        print("expected %d rows, got %d" % (len(expected), len(got)))
        return
    print("%d rows as expected" % len(got))


def time_of(r):
    # as the store lists it: RFC 3339 in UTC with microseconds
    return r["timestamp"].replace("+00:00", "Z")


if sys.argv[1] == "make":
    make(sys.argv[2], sys.argv[3])
else:
    check(sys.argv[2], int(sys.argv[3]))
