#!/usr/bin/env python3
"""The dashboard and event listings of `dengbao serve` checked against the EVE lines they come
from, computed here the plain way (every event in Python, sorted), so a store query that counts,
orders or filters otherwise fails.
  view_ref.py make FILE            writes the lines: three tenants, alerts and flows, times that
                                   repeat (ties broken by id) and lines late with older times,
                                   alerts without a signature, one tenant on both sides
  view_ref.py dash FILE [TENANT]   stdin: the dashboard's HTML; checks "Alerts by type" (types in
                                   the order of their first alert, counts) and the latest 20
  view_ref.py list FILE QUERY      stdin: GET /api/v1/events?QUERY's JSON; checks the ids listed
                                   and "more" (QUERY takes tenant, kind, type, since, until,
                                   limit, after)
Ids are line numbers: the store must be new (ids 1..N in line order, as both backends give).
Prints "ok" or what differs."""
import html
import json
import random
import re
import sys
import time
import urllib.parse


def make(path):
    rnd = random.Random(5)
    tenants = ["tenant-a", "tenant-b", "tenant-c", ""]
    sigs = ["port_scan", "cross_tenant", "", "syn_flood", "(none)", "arp_spoof"]
    with open(path, "w") as out:
        for i in range(900):
            t = 1767225600 + i // 9          # nine events a second: ties in time
            if rnd.random() < 0.05:
                t -= rnd.randrange(120)      # late, with an older time
            ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + "+00:00"
            ten = rnd.choice(tenants)
            d = {"src": {"tenant": ten}} if ten else {}
            r = rnd.random()
            if r < 0.1:
                d["dest"] = {"tenant": ten or "tenant-b"}   # the same tenant on both sides
            elif r < 0.3:
                d["dest"] = {"tenant": rnd.choice(tenants[:3])}
            rec = {"timestamp": ts, "seq": i, "dengbao": dict(d, clause="8.2.3.%d" % (i % 4))}
            if rnd.random() < 0.2:
                rec["event_type"] = "flow"
            else:
                rec["event_type"] = "alert"
                sig = rnd.choices(sigs, [30, 20, 3, 10, 1, 5])[0]
                # the last type appears first late in the file, with an old time
                if sig == "arp_spoof" and i < 500:
                    sig = "port_scan"
                if sig:
                    rec["alert"] = {"signature": sig}
            out.write(json.dumps(rec) + "\n")


def events(path):
    evs = []
    for i, line in enumerate(open(path), 1):
        r = json.loads(line)
        ts = r["timestamp"].replace("+00:00", "Z")
        d = r.get("dengbao", {})
        evs.append({"id": i, "t": time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ"), "ts": ts,
                    "kind": r.get("event_type", "alert"),
                    "type": r.get("alert", {}).get("signature", ""),
                    "clause": d.get("clause", ""),
                    "tenant": d.get("src", {}).get("tenant", ""),
                    "tenant2": d.get("dest", {}).get("tenant", "")})
    return evs


def key(e):
    return (time.mktime(e["t"]), e["id"])


def view(evs, tenant):
    return [e for e in evs if not tenant or tenant in (e["tenant"], e["tenant2"])]


def dash(path, tenant):
    page = sys.stdin.read()
    alerts = sorted((e for e in view(events(path), tenant) if e["kind"] == "alert"), key=key)
    counts = {}
    for e in alerts:
        label = e["type"] or "(none)"
        counts[label] = counts.get(label, 0) + 1
    want_types = [(k, str(v)) for k, v in counts.items()]
    want_latest = [(e["ts"][:-1] + ".000000Z", e["type"] or "(none)", e["clause"] or "-", e["tenant"] or "-",
                    e["tenant2"] or "-", "hv-01") for e in reversed(alerts[-20:])]
    tables = re.findall(r"<table>(.*?)</table>", page, re.S)
    if len(tables) != 2:
        return "%d tables, not 2" % len(tables)
    rows = [[html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", r)]
            for t in tables for r in re.findall(r"<tr>(.*?)</tr>", t) if "<td>" in r]
    got_types = [tuple(r) for r in rows if len(r) == 2]
    got_latest = [tuple(r) for r in rows if len(r) == 6]
    total = re.search(r"Alerts by type \((\d+)\)", page)
    if not total or int(total.group(1)) != len(alerts):
        return "total %s, want %d" % (total and total.group(1), len(alerts))
    if got_types != want_types:
        return "types %s, want %s" % (got_types, want_types)
    if got_latest != want_latest:
        return "latest %s, want %s" % (got_latest, want_latest)
    return "ok"


def listing(path, query):
    q = dict(urllib.parse.parse_qsl(query))
    got = json.load(sys.stdin)
    sel = [e for e in view(events(path), q.get("tenant"))
           if ("kind" not in q or e["kind"] == q["kind"])
           and ("type" not in q or e["type"] == q["type"])
           and ("since" not in q or e["ts"] >= q["since"])
           and ("until" not in q or e["ts"] < q["until"])]
    if "after" in q:
        sel = sorted((e for e in sel if e["id"] > int(q["after"])), key=lambda e: e["id"])
    else:
        sel.sort(key=key)
    limit = int(q.get("limit", 1000))
    want = [e["id"] for e in sel[:limit]]
    ids = [e["id"] for e in got["events"]]
    if ids != want:
        return "ids %s, want %s" % (ids, want)
    if got["more"] != (len(sel) > limit):
        return "more %s, want %s" % (got["more"], len(sel) > limit)
    return "ok"


if __name__ == "__main__":
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == "make":
        make(path)
    elif cmd == "dash":
        print(dash(path, sys.argv[3] if len(sys.argv) > 3 else ""))
    else:
        print(listing(path, sys.argv[3]))
