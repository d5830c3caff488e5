#!/bin/bash
# The central store on both backends: EVE alerts ingested (malformed lines named and skipped,
# nothing stored lost), the provider sees everything, a tenant only what concerns it.
# PostgreSQL runs for real: a private cluster initialised and started by this test on a Unix
# socket in its temp dir, stopped by PID at the end.
set -u
. "$(dirname "$0")/lib.sh"

make_alerts() {
    "$DBG_BIN" alert --type port_scan --clause 8.2.3.2a --src-ip 10.1.0.5 --tenant tenant-a --eve "$1"
    "$DBG_BIN" alert --type cross_tenant --clause 8.2.4.3a --src-ip 10.2.0.7 --tenant tenant-b --dest-ip 10.1.0.5 --eve "$1"
    "$DBG_BIN" alert --type unauthorized_vm_start --clause 8.2.4.3b --src-vm mgmt-1 --eve "$1"
}

check_backend() { # $1 = label, $2 = db url
    local label=$1 db=$2 out
    make_alerts "$TMP/eve-$label.json"
    printf '{"timestamp": "not a time"}\n{broken json\n' > "$TMP/bad.json"
    "$DBG_BIN" store ingest --db "$db" --host hv-01 "$TMP/eve-$label.json" 2>"$TMP/err"
    expect_eq "$label ingest ok" 0 $?
    expect_match "$label ingest count" "3 events stored" "$(cat "$TMP/err")"
    # Resending a shipment (an agent or SIEM retrying) stores nothing twice; a copy with other
    # spacing is the same record.
    "$DBG_BIN" store ingest --db "$db" --host hv-01 "$TMP/eve-$label.json" 2>"$TMP/err"
    expect_eq "$label re-ingest ok" 0 $?
    expect_match "$label re-ingest stores nothing" "store: 0 events stored in [a-z]+, 3 duplicates skipped" "$(cat "$TMP/err")"
    jq -c . "$TMP/eve-$label.json" | sed 's/,/, /g' > "$TMP/eve-$label-spaced.json"
    "$DBG_BIN" store ingest --db "$db" --host hv-01 "$TMP/eve-$label-spaced.json" 2>"$TMP/err"
    expect_match "$label respaced copy is a duplicate" "store: 0 events stored in [a-z]+, 3 duplicates skipped" "$(cat "$TMP/err")"
    expect_eq "$label still 3 events after the resends" 3 \
        "$("$DBG_BIN" store query --db "$db" --format json | grep -c '"kind":"alert"')"
    # The same record from another host is another event.
    "$DBG_BIN" store ingest --db "$db" --host hv-02 "$TMP/eve-$label.json" 2>"$TMP/err"
    expect_match "$label same records from another host are stored" "store: 3 events stored in [a-z]+, 0 duplicates" "$(cat "$TMP/err")"
    "$DBG_BIN" store query --db "$db" --format json | jq -c 'select(.host=="hv-02") | .id' > "$TMP/hv02-$label.ids"
    expect_eq "$label ... under that host" 3 "$(wc -l < "$TMP/hv02-$label.ids")"
    forget_events "$db" hv-02
    "$DBG_BIN" store ingest --db "$db" --host hv-01 "$TMP/bad.json" 2>"$TMP/err"
    expect_eq "$label malformed lines -> exit 1" 1 $?
    expect_match "$label names file:line" "bad.json:1: .*timestamp" "$(cat "$TMP/err")"
    expect_match "$label names line 2" "bad.json:2: " "$(cat "$TMP/err")"
    # A NUL byte in a line refuses it, as POST /api/v1/events does (the JSON parser stopped at the
    # NUL, so the part before it was stored as the whole record).
    printf '{"timestamp":"2026-01-01T00:00:00Z","alert":{"signature":"nul_cut"}}\0,"more":"dropped"}\n' > "$TMP/nul-$label.json"
    "$DBG_BIN" store ingest --db "$db" --host hv-01 "$TMP/nul-$label.json" 2>"$TMP/err"
    expect_eq "$label NUL line -> exit 1" 1 $?
    expect_match "$label NUL line named" "nul-$label.json:1: NUL byte in the line" "$(cat "$TMP/err")"
    expect_eq "$label NUL line not stored" "" "$("$DBG_BIN" store query --db "$db" --type nul_cut)"
    out=$("$DBG_BIN" store query --db "$db" --format json)
    expect_eq "$label provider sees all" 3 "$(printf '%s\n' "$out" | grep -c '"kind":"alert"')"
    out=$("$DBG_BIN" store query --db "$db" --tenant tenant-a --format json)
    expect_eq "$label tenant-a sees 1" 1 "$(printf '%s\n' "$out" | grep -c '"kind":"alert"')"
    expect_eq "$label tenant-a record" port_scan "$(printf '%s\n' "$out" | jq -r .record.alert.signature)"
    out=$("$DBG_BIN" store query --db "$db" --tenant tenant-b)
    expect_match "$label tenant-b sees cross_tenant" "cross_tenant" "$out"
    expect_nomatch "$label tenant-b not port_scan" "port_scan" "$out"
    out=$("$DBG_BIN" store query --db "$db" --type unauthorized_vm_start --format json)
    expect_eq "$label by type" mgmt-1 "$(printf '%s\n' "$out" | jq -r .record.dengbao.src.vm)"
    # A host name that is not UTF-8 is stored repaired (PostgreSQL refused it; SQLite kept it and
    # the JSON listing silently left the event out).
    "$DBG_BIN" alert --type bad_host --eve "$TMP/badhost-$label.json"
    "$DBG_BIN" store ingest --db "$db" --host $'hv\xff' "$TMP/badhost-$label.json" 2>"$TMP/err"
    expect_eq "$label non-UTF-8 host ingested" 0 $?
    out=$("$DBG_BIN" store query --db "$db" --type bad_host --format json)
    expect_eq "$label non-UTF-8 host repaired" "hv�" "$(printf '%s\n' "$out" | jq -r .host)"
    # A number beyond int64 (1e19) read back from PostgreSQL's JSONB as 10000000000000000000,
    # which the JSON parser refuses: the record was left out of --format json on PostgreSQL only.
    printf '%s\n' '{"timestamp":"2026-11-25T02:13:25Z","alert":{"signature":"big_number"},"flow":{"bytes":1e19,"neg":-1e19,"pkts":3,"note":"12345678901234567890"}}' \
        > "$TMP/big-$label.json"
    "$DBG_BIN" store ingest --db "$db" --host hv-01 "$TMP/big-$label.json" 2>"$TMP/err"
    out=$("$DBG_BIN" store query --db "$db" --type big_number --format json)
    expect_eq "$label record with a number beyond int64 listed" \
        '{"bytes":1e+19,"neg":-1e+19,"note":"12345678901234567890","pkts":3}' \
        "$(printf '%s\n' "$out" | jq -S -c .record.flow)"
    # The kind is the EVE event_type: a flow record (dengbao sensor --flows, Suricata) is no
    # alert, and --kind tells them apart (every line used to be stored as kind "alert").
    printf '%s\n' '{"timestamp":"2026-11-25T02:13:24.854369+0000","event_type":"flow","src_ip":"10.1.0.5","dest_ip":"10.1.0.6","proto":"UDP","flow":{"pkts_toserver":1}}' \
        > "$TMP/flow-$label.json"
    "$DBG_BIN" store ingest --db "$db" --host hv-01 "$TMP/flow-$label.json" 2>"$TMP/err"
    expect_eq "$label flow line ingested" 0 $?
    out=$("$DBG_BIN" store query --db "$db" --kind flow --format json)
    expect_eq "$label --kind flow finds the flow record" 10.1.0.6 "$(printf '%s\n' "$out" | jq -r .record.dest_ip)"
    out=$("$DBG_BIN" store query --db "$db" --kind alert --format json)
    expect_eq "$label --kind alert leaves the flow out" 0 "$(printf '%s\n' "$out" | grep -c '"event_type":"flow"')"
    # Text listings show a record's control characters instead of sending them to the terminal
    # (a tenant or host name holding ESC could clear, recolour or retitle it).
    "$DBG_BIN" alert --type esc_test --tenant $'t\e[2J' --eve "$TMP/esc-$label.json"
    "$DBG_BIN" store ingest --db "$db" --host $'hv\e]0;x\a' "$TMP/esc-$label.json" 2>"$TMP/err"
    expect_eq "$label control characters ingested" 0 $?
    out=$("$DBG_BIN" store query --db "$db" --type esc_test)
    expect_eq "$label text listing: no raw control character" 0 "$(printf '%s' "$out" | tr -d '\n' | LC_ALL=C grep -c $'[\x01-\x1f\x7f]')"
    expect_match "$label text listing: shown escaped" 't\\x1b\[2J.*hv\\x1b\]0;x\\x07' "$out"
    # Standard input that has not ended (`tail -F eve.json | store ingest -`): what came is
    # stored once no more input is waiting. One transaction to the end stored nothing a query
    # could see meanwhile (and on PostgreSQL a pause of 60 s lost all of it).
    mkfifo "$TMP/in-$label"
    "$DBG_BIN" store ingest --db "$db" --host hv-03 - <"$TMP/in-$label" 2>"$TMP/stream-$label.err" &
    local ing=$! got=0
    exec 8>"$TMP/in-$label"
    "$DBG_BIN" alert --type stream_test --tenant tenant-s --eve - >&8
    for _ in $(seq 1 50); do
        got=$("$DBG_BIN" store query --db "$db" --tenant tenant-s --format json | grep -c '"kind":"alert"')
        [ "$got" = 1 ] && break
        sleep 0.1
    done
    expect_eq "$label standard input: an event is stored while the input goes on" 1 "$got"
    "$DBG_BIN" alert --type stream_test2 --tenant tenant-s --eve - >&8
    exec 8>&-
    wait "$ing"
    expect_eq "$label ... and the ingest ends with its input, exit 0" 0 $?
    expect_match "$label ... counting both" "store: 2 events stored" "$(cat "$TMP/stream-$label.err")"
    forget_events "$db" hv-03
}

# check_paging LABEL DB: `store query --after ID --limit N` pages through the store in the order
# stored, as GET /api/v1/events?after= does; a script resumes from the last id of a page (there
# was no --after: a command-line script could not resume).
check_paging() {
    local label=$1 db=$2 after=0 page n=0 all
    all=$("$DBG_BIN" store query --db "$db" --format json | jq -r .id | sort -n | tr '\n' ' ')
    : > "$TMP/paged-$label.ids"
    while :; do
        page=$("$DBG_BIN" store query --db "$db" --after "$after" --limit 2 --format json 2>"$TMP/err")
        expect_eq "$label page after $after: exit 0" 0 $?
        [ -n "$page" ] || break
        printf '%s\n' "$page" | jq -r .id >> "$TMP/paged-$label.ids"
        [ "$(printf '%s\n' "$page" | wc -l)" -le 2 ] || fail "$label page after $after: more than --limit events"
        after=$(printf '%s\n' "$page" | tail -1 | jq -r .id)
        n=$((n + 1)); [ $n -lt 100 ] || { fail "$label paging does not end"; break; }
    done
    expect_eq "$label pages hold every event once, in the order stored" "$all" "$(tr '\n' ' ' < "$TMP/paged-$label.ids")"
    expect_match "$label last page: no more, with the cursor" "no more events now: later ones with --after $after" "$(cat "$TMP/err")"
    # An event delivered late with an old time is listed after the cursor, never skipped.
    printf '%s\n' '{"timestamp":"2001-01-01T00:00:00.000000+0000","event_type":"alert","alert":{"signature":"late_old_time"}}' > "$TMP/late-$label.json"
    "$DBG_BIN" store ingest --db "$db" --host hv-01 "$TMP/late-$label.json" 2>"$TMP/err"
    expect_eq "$label late event ingested" 0 $?
    expect_eq "$label resuming lists exactly the late event" late_old_time \
        "$("$DBG_BIN" store query --db "$db" --after "$after" --format json 2>/dev/null | jq -r .type)"
    # --limit cut the list: stderr says so and names the next cursor; the text listing pages too.
    "$DBG_BIN" store query --db "$db" --after 0 --limit 1 >"$TMP/out" 2>"$TMP/err"
    expect_eq "$label text page: one line" 1 "$(wc -l < "$TMP/out")"
    expect_match "$label text page: more, next cursor" "more events: next page with --after $(head -1 "$TMP/paged-$label.ids")\$" "$(cat "$TMP/err")"
    # --after with the other filters: only the tenant's events above the cursor.
    expect_eq "$label --after with --tenant" port_scan \
        "$("$DBG_BIN" store query --db "$db" --after 0 --tenant tenant-a --format json 2>/dev/null | jq -r .type)"
}

# check_batch LABEL DB: one file of 1205 lines is one batch (three tenants, alerts and flows, a
# malformed line, a reserved tenant, duplicates within it and of a stored event), and every row
# it leaves is checked against the lines: fields, record, time, and ids in line order, so a batch
# insert that mapped a row to another line's data, result or id fails here.
check_batch() {
    local label=$1 db=$2 d pre
    d="$TMP/batch-$label"
    mkdir -p "$d"
    python3 "$DBG_SRCDIR/tests/integration/store_batch.py" make "$d" hv-batch
    "$DBG_BIN" store ingest --db "$db" --host hv-batch "$d/pre.json" 2>"$TMP/err"
    expect_eq "$label batch: the event stored before it" 0 $?
    pre=$("$DBG_BIN" store query --db "$db" --after 0 --format json 2>/dev/null | tail -1 | jq -r .id)
    "$DBG_BIN" store ingest --db "$db" --host hv-batch "$d/batch.json" 2>"$TMP/err"
    expect_eq "$label batch: exit 1 (lines rejected)" 1 $?
    expect_eq "$label batch: the two refused lines named, nothing else said" \
        "batch.json:7: column 44: string or '}' expected near 'broken', skipped|batch.json:700: tenant 'provider'|dengbao store: 1200 events stored in $label, 3 duplicates skipped (stored before), 2 lines rejected|" \
        "$(sed -e 's/^dengbao store: .*\/\(batch.json:[0-9]*: \)/\1/' -e 's/\(tenant .provider.\):.*/\1/' "$TMP/err" | tr '\n' '|')"
    expect_eq "$label batch: every row as the line it came from" "1200 rows as expected" \
        "$("$DBG_BIN" store query --db "$db" --after "$pre" --format json 2>/dev/null \
            | python3 "$DBG_SRCDIR/tests/integration/store_batch.py" check "$d" "$pre")"
    "$DBG_BIN" store ingest --db "$db" --host hv-batch "$d/batch.json" 2>"$TMP/err"
    expect_match "$label batch again: all duplicates" "dengbao store: 0 events stored in $label, 1203 duplicates skipped \(stored before\), 2 lines rejected" "$(cat "$TMP/err")"
    expect_eq "$label batch again: nothing added" "1200 rows as expected" \
        "$("$DBG_BIN" store query --db "$db" --after "$pre" --format json 2>/dev/null \
            | python3 "$DBG_SRCDIR/tests/integration/store_batch.py" check "$d" "$pre")"
}

# check_legacy LABEL DB SQL-RUNNER: a store made by a dengbao before the dedup key (the old
# schema, verbatim) that holds a record twice (the old re-ingest) opens, keeps every row, and from
# then on skips what it holds.
check_legacy() {
    local label=$1 db=$2 run=$3 body_type=$4 id_type=$5 line n=0
    "$run" "CREATE TABLE events (id $id_type, time_us BIGINT NOT NULL, kind TEXT NOT NULL, host TEXT NOT NULL, type TEXT NOT NULL, clause TEXT NOT NULL, tenant TEXT NOT NULL, tenant2 TEXT NOT NULL, body $body_type NOT NULL); CREATE INDEX events_tenant ON events(tenant, time_us); CREATE INDEX events_tenant2 ON events(tenant2, time_us); CREATE INDEX events_time ON events(time_us);" >/dev/null
    make_alerts "$TMP/legacy-$label.json"
    { cat "$TMP/legacy-$label.json"; head -1 "$TMP/legacy-$label.json"; } > "$TMP/legacy-$label-rows.json"
    while IFS= read -r line; do
        n=$((n + 1))
        "$run" "INSERT INTO events(time_us,kind,host,type,clause,tenant,tenant2,body) VALUES ($n, 'alert', 'hv-01', '$(jq -r .alert.signature <<<"$line")', '', '', '', '$(printf '%s' "$line" | sed "s/'/''/g")')" >/dev/null
    done < "$TMP/legacy-$label-rows.json"
    expect_eq "$label legacy store opens with every row" 4 \
        "$("$DBG_BIN" store query --db "$db" --format json | grep -c '"kind":"alert"')"
    "$DBG_BIN" store ingest --db "$db" --host hv-01 "$TMP/legacy-$label.json" 2>"$TMP/err"
    expect_eq "$label legacy re-ingest ok" 0 $?
    expect_match "$label legacy records are known after the migration" "store: 0 events stored in [a-z]+, 3 duplicates skipped" "$(cat "$TMP/err")"
    expect_eq "$label legacy: no row lost, none added" 4 \
        "$("$DBG_BIN" store query --db "$db" --format json | grep -c '"kind":"alert"')"
    expect_eq "$label legacy: the old duplicate kept, marked" "legacy-duplicate:4" \
        "$("$run" "SELECT dedup FROM events WHERE dedup LIKE 'legacy%'")"
    # ... and the index the dashboard's counts read (dbg_store_count_types), made at that open
    local idx="SELECT name FROM sqlite_master WHERE type='index' AND name='events_kind_type'"
    [ "$label" = postgresql ] && idx="SELECT indexname FROM pg_indexes WHERE indexname='events_kind_type'"
    expect_eq "$label legacy: the kind/type index made" events_kind_type "$("$run" "$idx")"
    "$DBG_BIN" alert --type after_migration --eve "$TMP/legacy-new-$label.json"
    "$DBG_BIN" store ingest --db "$db" --host hv-01 "$TMP/legacy-new-$label.json" 2>"$TMP/err"
    expect_match "$label legacy store takes new events" "store: 1 events stored" "$(cat "$TMP/err")"
}
sqlite_run() { sqlite3 "$TMP/legacy.db" "$1"; }
# forget_events DB HOST: removes what a check stored under HOST, so later counts stay simple.
forget_events() {
    case $1 in
    sqlite:*) sqlite3 "${1#sqlite:}" "DELETE FROM events WHERE host='$2'" ;;
    *) psql_ "$1" -c "DELETE FROM events WHERE host='$2'" >/dev/null ;;
    esac
}
ensure_pkgs sqlite3:sqlite3 python3:python3 jq:jq
check_batch sqlite "sqlite:$TMP/batch.db"
check_backend sqlite "sqlite:$TMP/store.db"
check_paging sqlite "sqlite:$TMP/store.db"
check_legacy sqlite "sqlite:$TMP/legacy.db" sqlite_run TEXT "INTEGER PRIMARY KEY AUTOINCREMENT"
"$DBG_BIN" store query --db "sqlite:/nonexistent/dir/x.db" 2>"$TMP/err"; expect_eq "sqlite bad path" 3 $?
expect_match "sqlite error names path" "/nonexistent/dir/x.db" "$(cat "$TMP/err")"
# A query of a path that names no store (a typo) printed no events with exit 0, as for an
# empty store, and left an empty store file there.
"$DBG_BIN" store query --db "sqlite:$TMP/typo.db" --tenant tenant-a >"$TMP/out" 2>"$TMP/err"
expect_eq "query of a missing SQLite store exit" 3 $?
expect_match "... says no such store, naming it" \
    "store: --db sqlite:$TMP/typo.db: no such SQLite store \(No such file or directory\); query makes none" \
    "$(cat "$TMP/err")"
expect_eq "... and makes none" no "$([ -e "$TMP/typo.db" ] && echo yes || echo no)"
"$DBG_BIN" store query --db "$TMP/typo.db" >/dev/null 2>&1
expect_eq "... also without sqlite:" 3 $?
"$DBG_BIN" store query >/dev/null 2>&1; expect_eq "missing --db" 2 $?
# A --db naming no file (an unset "$DB", :memory:, a mode=memory URI) is a SQLite database gone
# when the command ends: ingest said "3 events stored", exit 0, and kept none of them.
for tmpdb in "" "sqlite:" "sqlite::memory:" ":memory:" "sqlite:file::memory:" "file:$TMP/m.db?mode=memory"; do
    "$DBG_BIN" store ingest --db "$tmpdb" "$TMP/eve-sqlite.json" 2>"$TMP/err"
    expect_eq "ingest --db '$tmpdb' (temporary): usage error" 2 $?
    expect_match "... saying nothing would be kept" "is a temporary SQLite database, gone when the command ends: nothing ingested into it would be kept" "$(cat "$TMP/err")"
done
"$DBG_BIN" store query --db "sqlite::memory:" >"$TMP/out" 2>"$TMP/err"
expect_eq "query --db sqlite::memory:: usage error" 2 $?
expect_match "... saying it holds nothing" "temporary SQLite database, gone when the command ends: it holds no events to query" "$(cat "$TMP/err")"
# An option the subcommand does not take is a usage error naming it: taken and ignored, query
# --host hv-02 listed every host's events and ingest --tenant T kept the lines' own tenants.
"$DBG_BIN" store query --db "sqlite:$TMP/store.db" --host hv-02 >"$TMP/out" 2>"$TMP/err"
expect_eq "query --host: usage error" 2 $?
expect_match "... naming it" "query does not take --host" "$(cat "$TMP/err")"
expect_eq "... listing nothing" "" "$(cat "$TMP/out")"
"$DBG_BIN" store ingest --db "sqlite:$TMP/store.db" --tenant tenant-a "$TMP/eve-sqlite.json" 2>"$TMP/err"
expect_eq "ingest --tenant: usage error" 2 $?
expect_match "... naming it" "ingest does not take --tenant" "$(cat "$TMP/err")"
"$DBG_BIN" store query --db "sqlite:$TMP/store.db" --bogus 2>"$TMP/err"
expect_match "an unknown option is named" "unknown or incomplete option '--bogus'" "$(cat "$TMP/err")"
"$DBG_BIN" store query --db "sqlite:$TMP/store.db" --after -1 >"$TMP/out" 2>"$TMP/err"
expect_eq "--after -1: usage error" 2 $?
expect_match "... saying what it takes" "--after: '-1' is not an event id" "$(cat "$TMP/err")"
# The tenant id 'provider' is refused as serve without --policy refuses it: a query of it read as
# the provider's view, and ingest stored lines that POST /api/v1/events rejects.
"$DBG_BIN" store query --db "sqlite:$TMP/store.db" --tenant provider >"$TMP/out" 2>"$TMP/err"
expect_eq "query --tenant provider: usage error" 2 $?
expect_match "... in serve's words" "--tenant: without --policy the tenant id 'provider' is reserved: O=provider is the provider's certificate.*the provider's view is query without --tenant" "$(cat "$TMP/err")"
"$DBG_BIN" alert --type prov_tenant --tenant provider --eve "$TMP/prov.json"
"$DBG_BIN" alert --type prov_tenant2 --src-ip 10.9.0.1 --tenant tenant-a --dest-ip 10.1.0.5 --eve "$TMP/prov.json"
jq -c '.dengbao.dest.tenant = "provider"' < <(tail -1 "$TMP/prov.json") > "$TMP/prov2.json"
head -1 "$TMP/prov.json" >> "$TMP/prov2.json"
"$DBG_BIN" store ingest --db "sqlite:$TMP/store.db" "$TMP/prov2.json" 2>"$TMP/err"
expect_eq "ingest of tenant provider lines: exit 1 (rejected)" 1 $?
expect_match "... the source tenant's line named" "prov2.json:2: tenant 'provider': without --policy the tenant id 'provider' is reserved" "$(cat "$TMP/err")"
expect_match "... the target tenant's line named" "prov2.json:1: tenant 'provider'" "$(cat "$TMP/err")"
expect_eq "... nothing stored" "" "$("$DBG_BIN" store query --db "sqlite:$TMP/store.db" --type prov_tenant --format json)$("$DBG_BIN" store query --db "sqlite:$TMP/store.db" --type prov_tenant2 --format json)"
# An empty --tenant (an unset `--tenant "$T"` in a script) matched the provider's own events
# (tenant "") and every event of a source tenant without a target (tenant2 ""): tenant-a's
# port_scan and the provider's VM start were listed as that "tenant's" audit.
"$DBG_BIN" store query --db "sqlite:$TMP/store.db" --tenant "" >"$TMP/out" 2>"$TMP/err"
expect_eq "query --tenant '': usage error" 2 $?
expect_match "... saying why" "--tenant: an empty tenant id names no tenant; the provider's view is query without --tenant" "$(cat "$TMP/err")"
expect_eq "... listing nothing" "" "$(cat "$TMP/out")"
# The epoch as --until was 0, "no bound" to the query: every event was listed.
"$DBG_BIN" store query --db "sqlite:$TMP/store.db" --until 1970-01-01T00:00:00Z >"$TMP/out" 2>"$TMP/err"
expect_eq "--until the epoch is refused" 2 $?
expect_match "... naming the option" "--until: '1970-01-01T00:00:00Z' is not after" "$(cat "$TMP/err")"
expect_eq "... listing nothing" "" "$(cat "$TMP/out")"
"$DBG_BIN" store query --db "sqlite:$TMP/store.db" --until 1700000000 2>"$TMP/err"
expect_eq "--until as a bare epoch number is refused" 2 $?
expect_match "... saying what it takes" "--until: '1700000000' is not an RFC 3339 time" "$(cat "$TMP/err")"
# A line cut short (a file copied while it was written) is named at its own line and column:
# the newline went to the parser, which put the error at "column 0" of the line after it.
printf '{"timestamp": "2026-11-25T02:13:23Z", "event_type": "alert"\n' > "$TMP/cut.json"
"$DBG_BIN" store ingest --db "sqlite:$TMP/store.db" "$TMP/cut.json" 2>"$TMP/err"
expect_eq "line cut short: exit 1 (rejected)" 1 $?
expect_match "... named at its line and column" "cut.json:1: column 59: '}' expected near end of file, skipped" "$(cat "$TMP/err")"
# A line of blanks is no record, as for POST /api/v1/events (which skips it): it was a
# rejected line ("'[' or '{' expected"), exit 1, for a file whose every record was stored.
printf '%s\n' '{"timestamp":"2026-11-25T02:13:26Z","alert":{"signature":"blank_1"}}  ' ' 	 ' \
    '{"timestamp":"2026-11-25T02:13:27Z","alert":{"signature":"blank_2"}}' > "$TMP/blank.json"
"$DBG_BIN" store ingest --db "sqlite:$TMP/store.db" "$TMP/blank.json" 2>"$TMP/err"
expect_eq "line of blanks: skipped, exit 0" 0 $?
expect_match "... both records stored, nothing rejected" "store: 2 events stored in sqlite, 0 duplicates skipped \(stored before\), 0 lines rejected" "$(cat "$TMP/err")"
# A line of 150 MB held 150 MB (getline), and where that memory was not there the read ended as
# at the end of the file: the line after it was never read, "1 events stored", exit 0. Lines are
# kept to 1 MiB, the rest dropped as read. (The memory limit only outside ASan, whose shadow
# memory needs the address space.)
huge_ingest() {
    { printf '%s\n' '{"timestamp":"2026-11-25T02:13:30Z","alert":{"signature":"huge_before"}}'
      head -c 150000000 /dev/zero | tr '\0' x
      printf '\n%s\n' '{"timestamp":"2026-11-25T02:13:31Z","alert":{"signature":"huge_after"}}'
    } | "$DBG_BIN" store ingest --db "sqlite:$TMP/huge.db" - 2>"$TMP/err"
}
if ldd "$DBG_BIN" 2>/dev/null | grep -q libasan; then huge_ingest; else (ulimit -v 100000; huge_ingest); fi
expect_eq "a 150 MB line: rejected (exit 1)" 1 $?
expect_match "... named as too long" "^dengbao store: -:2: line longer than 1 MiB, skipped" "$(cat "$TMP/err")"
expect_eq "... the lines around it stored" "huge_before huge_after" \
    "$("$DBG_BIN" store query --db "sqlite:$TMP/huge.db" --format json | jq -r .type | tr '\n' ' ' | sed 's/ $//')"
# A file saved by Windows tools starts with a UTF-8 byte order mark (RFC 8259 lets a reader
# ignore it): its first record was rejected "near" a mark no terminal shows. Only at the start.
printf '\xef\xbb\xbf%s\n\xef\xbb\xbf%s\n' '{"timestamp":"2026-11-25T02:13:28Z","alert":{"signature":"bom_1"}}' \
    '{"timestamp":"2026-11-25T02:13:29Z","alert":{"signature":"bom_2"}}' > "$TMP/bom.json"
"$DBG_BIN" store ingest --db "sqlite:$TMP/store.db" "$TMP/bom.json" 2>"$TMP/err"
expect_eq "byte order mark at the start: taken; one later in the file: rejected, exit 1" 1 $?
expect_match "... the first record stored, the second line named" "bom.json:2: .*skipped.*1 events stored in sqlite, 0 duplicates skipped \(stored before\), 1 lines rejected" "$(tr '\n' ' ' < "$TMP/err")"
expect_eq "... the first record is listed" bom_1 "$("$DBG_BIN" store query --db "sqlite:$TMP/store.db" --type bom_1 --format json | jq -r .type)"
# A timestamp that is not a string is shown as written ({"timestamp":5} showed as ('')); a
# missing one is said to be missing.
printf '%s\n' '{"timestamp":5}' '{"timestamp":{"t":1}}' '{"event_type":"alert"}' '{"timestamp":"x"}' >"$TMP/ts-type.json"
"$DBG_BIN" store ingest --db "sqlite:$TMP/store.db" "$TMP/ts-type.json" 2>"$TMP/err"
expect_eq "timestamps of the wrong type: exit 1 (rejected)" 1 $?
expect_match "... a number shown as written" "ts-type.json:1: EVE record has no valid \"timestamp\" \(5, not a string with a time\), skipped" "$(cat "$TMP/err")"
expect_match "... an object shown as written" "ts-type.json:2: EVE record has no valid \"timestamp\" \(\{\"t\":1\}, not a string" "$(cat "$TMP/err")"
expect_match "... a missing one said so" "ts-type.json:3: EVE record has no \"timestamp\", skipped" "$(cat "$TMP/err")"
expect_match "... a bad string still quoted" "ts-type.json:4: EVE record has no valid \"timestamp\" \('x'\), skipped" "$(cat "$TMP/err")"
# A tenant that is not text was stored as no tenant: that tenant never saw its own event. Such a
# line is refused naming the field; null is no tenant, as absent. The same for a level on the way
# that is no object: "src":"tenant-a" was stored as no tenant, listed to no tenant-a query.
printf '%s\n' '{"timestamp":"2026-12-07T10:00:00Z","dengbao":{"src":{"tenant":123}}}' \
    '{"timestamp":"2026-12-07T10:00:00Z","dengbao":{"dest":{"tenant":{"id":"t1"}}}}' \
    '{"timestamp":"2026-12-07T10:00:00Z","alert":{"signature":7}}' \
    '{"timestamp":"2026-12-07T10:00:00Z","dengbao":{"src":{"tenant":null}},"alert":{"signature":"tn_null"}}' \
    '{"timestamp":"2026-12-07T10:00:00Z","dengbao":{"src":"tenant-a"},"alert":{"signature":"tn_flat"}}' \
    '{"timestamp":"2026-12-07T10:00:01Z","dengbao":"tenant-a","alert":{"signature":"tn_str"}}' \
    '{"timestamp":"2026-12-07T10:00:02Z","alert":"tn_alert_str","dengbao":"tenant-a"}' \
    '{"timestamp":"2026-12-07T10:00:03Z","dengbao":{"src":null,"dest":{"tenant":"tenant-b"}},"alert":{"signature":"tn_null_src"}}' >"$TMP/tn.json"
"$DBG_BIN" store ingest --db "sqlite:$TMP/tn.db" "$TMP/tn.json" 2>"$TMP/err"
expect_eq "fields of the wrong type: exit 1 (rejected)" 1 $?
expect_match "... a numeric tenant named" 'tn.json:1: EVE record.s "dengbao.src.tenant" is not a string, skipped' "$(cat "$TMP/err")"
expect_match "... an object tenant named" 'tn.json:2: EVE record.s "dengbao.dest.tenant" is not a string, skipped' "$(cat "$TMP/err")"
expect_match "... a numeric signature named" 'tn.json:3: EVE record.s "alert.signature" is not a string, skipped' "$(cat "$TMP/err")"
expect_match "... a string source named" 'tn.json:5: EVE record.s "dengbao.src" is not an object, skipped' "$(cat "$TMP/err")"
expect_match "... a string dengbao named" 'tn.json:6: EVE record.s "dengbao" is not an object, skipped' "$(cat "$TMP/err")"
expect_match "... the first bad field named" 'tn.json:7: EVE record.s "alert" is not an object, skipped' "$(cat "$TMP/err")"
expect_eq "... a null tenant or level is none: stored, the rest not" "tn_null tn_null_src" \
    "$("$DBG_BIN" store query --db "sqlite:$TMP/tn.db" --format json | jq -r .type | tr '\n' ' ' | sed 's/ $//')"
expect_eq "... tenant-b sees its event under a null source" "tn_null_src" \
    "$("$DBG_BIN" store query --db "sqlite:$TMP/tn.db" --tenant tenant-b --format json | jq -r .type)"
expect_eq "... a null level is none: stored" "tn_null_src" \
    "$("$DBG_BIN" store query --db "sqlite:$TMP/tn.db" --tenant tenant-b --format json | jq -r .type)"
# A time without a zone was taken as UTC: 08:30 typed in Beijing queried from 16:30 there. Refused,
# saying what to add; the EVE timestamps ingested keep their forms (Suricata's +0800 without a
# colon, and none, as UTC: refusing it would drop the event).
printf '%s\n' '{"timestamp":"2026-12-07T16:00:00.123456+0800","alert":{"signature":"tz_suricata"}}' \
    '{"timestamp":"2026-12-07T09:00:00","alert":{"signature":"tz_zoneless"}}' \
    '{"timestamp":"2026-12-07T10:00:00Z","alert":{"signature":"tz_z"}}' > "$TMP/tz.json"
"$DBG_BIN" store ingest --db "sqlite:$TMP/tz.db" "$TMP/tz.json" 2>"$TMP/err"
expect_eq "EVE with +0800 and without a zone: ingested" "0 3 events stored" "$? $(grep -Eo '[0-9]+ events stored' "$TMP/err")"
expect_eq "... at the instants they mean (+0800 as +08:00, none as UTC)" \
    "2026-12-07T08:00:00.123456Z 2026-12-07T09:00:00.000000Z 2026-12-07T10:00:00.000000Z" \
    "$("$DBG_BIN" store query --db "sqlite:$TMP/tz.db" --format json | jq -r .time | tr '\n' ' ' | sed 's/ $//')"
for opt in --since --until; do
    "$DBG_BIN" store query --db "sqlite:$TMP/tz.db" $opt 2026-12-07T08:30:00 >"$TMP/out" 2>"$TMP/err"
    expect_eq "$opt without a zone: usage error" 2 $?
    expect_match "... naming the option and saying to add Z or +08:00" \
        "$opt: '2026-12-07T08:30:00' has no UTC offset: add Z for UTC or \+08:00 for Beijing time" "$(cat "$TMP/err")"
    expect_eq "... listing nothing" "" "$(cat "$TMP/out")"
done
tz_types() { "$DBG_BIN" store query --db "sqlite:$TMP/tz.db" "$@" --format json | jq -r .type | tr '\n' ' ' | sed 's/ $//'; }
expect_eq "--since with Z" "tz_zoneless tz_z" "$(tz_types --since 2026-12-07T08:30:00Z)"
expect_eq "--since with +08:00: the same instant" "tz_zoneless tz_z" "$(tz_types --since 2026-12-07T16:30:00+08:00)"
expect_eq "--until with +08:00" "tz_suricata" "$(tz_types --until 2026-12-07T16:30:00+08:00)"
expect_eq "--since as a date (its first moment in UTC), as before" "tz_suricata tz_zoneless tz_z" "$(tz_types --since 2026-12-07)"
# The bounds as --help says: --since T takes an event at T, --until T does not (tz_z is at
# 10:00:00Z), so back-to-back ranges list each event once.
expect_eq "--since is inclusive" "tz_z" "$(tz_types --since 2026-12-07T10:00:00Z)"
expect_eq "--until is exclusive" "tz_suricata tz_zoneless" "$(tz_types --until 2026-12-07T10:00:00Z)"
expect_eq "... the same instant with an offset" "tz_suricata tz_zoneless" "$(tz_types --until 2026-12-07T18:00:00+08:00)"
# Bounds the wrong way round (or equal) listed nothing, exit 0: to an assessor, a period without
# events.
"$DBG_BIN" store query --db "sqlite:$TMP/tz.db" --since 2026-12-08 --until 2026-12-07 >"$TMP/out" 2>"$TMP/err"
expect_eq "--since after --until: usage error" 2 $?
expect_match "... saying so" "--since 2026-12-08 is not before --until 2026-12-07: no event is in that range" "$(cat "$TMP/err")"
"$DBG_BIN" store query --db "sqlite:$TMP/tz.db" --since 2026-12-07T10:00:00Z --until 2026-12-07T18:00:00+08:00 >"$TMP/out" 2>"$TMP/err"
expect_eq "--since the same instant as --until: usage error" 2 $?
# ... which people in China read as their own midnight, 8 hours later: a note says what it means
"$DBG_BIN" store query --db "sqlite:$TMP/tz.db" --until 2026-12-07 >"$TMP/out" 2>"$TMP/err"
expect_eq "--until as a date: still taken (exit 0, nothing before its first UTC moment)" "0 " "$? $(cat "$TMP/out")"
expect_match "... with a note giving the UTC instant and Beijing's midnight" \
    "note: --until 2026-12-07 means 2026-12-07T00:00:00Z, 08:00 in Beijing; for Beijing's midnight write 2026-12-07T00:00:00\+08:00" "$(cat "$TMP/err")"
"$DBG_BIN" store query --db "sqlite:$TMP/tz.db" --since 2026-12-07T00:00:00+08:00 >/dev/null 2>"$TMP/err"
expect_eq "a time with its zone: no note" "" "$(cat "$TMP/err")"
# A FILE that cannot be read (a directory given for the EVE file) is a runtime error, not an
# ingest of nothing ('0 events stored, 0 lines rejected', exit 0).
"$DBG_BIN" store ingest --db "sqlite:$TMP/store.db" "$TMP" 2>"$TMP/err"
expect_eq "unreadable FILE (a directory) -> exit 3" 3 $?
expect_match "... names it and why" "$TMP: cannot read .*Is a directory" "$(cat "$TMP/err")"
# Several FILEs where a later one fails: each commits on its own, and the message says which
# were committed (they stay stored) and which were not (nothing of them stored).
"$DBG_BIN" alert --type multi_first --eve "$TMP/multi1.json"
"$DBG_BIN" alert --type multi_third --eve "$TMP/multi3.json"
"$DBG_BIN" store ingest --db "sqlite:$TMP/store.db" "$TMP/multi1.json" "$TMP" "$TMP/multi3.json" 2>"$TMP/err"
expect_eq "later FILE fails -> exit 3" 3 $?
expect_match "... names the failed FILE, nothing of it stored" "stopped at $TMP, nothing of it stored" "$(cat "$TMP/err")"
expect_match "... names the FILE committed before it" "committed before it: $TMP/multi1.json \(1 events stored, 0 duplicates skipped, 0 lines rejected\)" "$(cat "$TMP/err")"
expect_match "... names the FILE not read" "not read: $TMP/multi3.json" "$(cat "$TMP/err")"
expect_eq "... the committed FILE is stored" multi_first "$("$DBG_BIN" store query --db "sqlite:$TMP/store.db" --type multi_first --format json | jq -r .type)"
expect_eq "... the FILE after it is not" "" "$("$DBG_BIN" store query --db "sqlite:$TMP/store.db" --type multi_third --format json)"
"$DBG_BIN" store ingest --db "sqlite:$TMP/store.db" "$TMP/nonexistent.json" "$TMP/multi3.json" 2>"$TMP/err"
expect_match "first FILE fails: nothing committed" "stopped at $TMP/nonexistent.json, nothing of it stored; committed before it: none; not read: $TMP/multi3.json" "$(cat "$TMP/err")"

# ---- PostgreSQL ----
ensure_pkgs pg_ctlcluster:postgresql
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PGBIN/initdb" ] || { echo "no initdb"; finish; exit $?; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PGDIR="$TMP/pg"; mkdir -p "$PGDIR"; chmod 755 "$TMP"
[ "$(id -u)" = 0 ] && chown postgres "$PGDIR"
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres >/dev/null || { fail "initdb"; finish; exit 1; }
PORT=$((20000 + RANDOM % 20000))
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w \
    -o "-c listen_addresses='' -c unix_socket_directories=$PGDIR -p $PORT" start >/dev/null \
    || { fail "postgres start" "$(tail -5 "$PGDIR/log")"; finish; exit 1; }
stop_pg() { as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast stop >/dev/null 2>&1; }
trap 'stop_pg; stop_started_daemons; rm -rf "$TMP"' EXIT
as_pg "$PGBIN/createdb" -h "$PGDIR" -p "$PORT" -U postgres dengbao
psql_() { local db=$1; shift; "$PGBIN/psql" -d "$db" -qAt "$@"; }
check_backend postgresql "postgresql:///dengbao?host=$PGDIR&port=$PORT&user=postgres"
check_paging postgresql "postgresql:///dengbao?host=$PGDIR&port=$PORT&user=postgres"
as_pg "$PGBIN/createdb" -h "$PGDIR" -p "$PORT" -U postgres batch
check_batch postgresql "postgresql:///batch?host=$PGDIR&port=$PORT&user=postgres"
# A line PostgreSQL refuses (a constraint) fails the file: nothing of it stored, and the output
# stops at that line as when each line was stored as read (the malformed line after it is not
# reported, the one before it is).
BATCH_DB="postgresql:///batch?host=$PGDIR&port=$PORT&user=postgres"
psql_ "$BATCH_DB" -c "ALTER TABLE events ADD CONSTRAINT no_poison CHECK (type <> 'poison')"
printf '%s\n' '{"timestamp":"2026-01-01T00:00:00Z","alert":{"signature":"before_poison"}}' 'bad one' \
    '{"timestamp":"2026-01-01T00:00:01Z","alert":{"signature":"poison"}}' 'bad two' \
    '{"timestamp":"2026-01-01T00:00:02Z","alert":{"signature":"after_poison"}}' > "$TMP/poison.json"
"$DBG_BIN" store ingest --db "$BATCH_DB" --host hv-batch "$TMP/poison.json" 2>"$TMP/err"
expect_eq "pg refused line: exit 3" 3 $?
expect_eq "pg refused line: the output stops at it" \
    "poison.json:2: column 3: '[' or '{' expected near 'bad', skipped|dengbao store: postgresql database 'batch': insert: ERROR:  new row for relation \"events\" violates check constraint \"no_poison\"|dengbao store: stopped at $TMP/poison.json, nothing of it stored; committed before it: none|" \
    "$(sed 's/^dengbao store: .*\/\(poison.json:[0-9]*: \)/\1/' "$TMP/err" | tr '\n' '|')"
expect_eq "pg refused line: nothing of the file stored" "" \
    "$(psql_ "$BATCH_DB" -c "SELECT type FROM events WHERE type LIKE '%poison'")"
psql_ "$BATCH_DB" -c "ALTER TABLE events DROP CONSTRAINT no_poison"
as_pg "$PGBIN/createdb" -h "$PGDIR" -p "$PORT" -U postgres legacy
pg_legacy_run() { psql_ "postgresql:///legacy?host=$PGDIR&port=$PORT&user=postgres" -c "$1"; }
check_legacy postgresql "postgresql:///legacy?host=$PGDIR&port=$PORT&user=postgres" pg_legacy_run JSONB "BIGSERIAL PRIMARY KEY"
# A listing is read a row at a time, as from SQLite: the whole answer was held in memory first
# (20000 events of 5 KB: 114 MB), and under this 80 MB limit the listing failed, out of memory.
# Address space is no measure under ASan (its shadow memory), so only the plain build checks it.
as_pg "$PGBIN/createdb" -h "$PGDIR" -p "$PORT" -U postgres bulk
BULK_DB="postgresql:///bulk?host=$PGDIR&port=$PORT&user=postgres"
"$DBG_BIN" store ingest --db "$BULK_DB" "$TMP/big-postgresql.json" 2>/dev/null
psql_ "$BULK_DB" -c "INSERT INTO events(time_us,kind,host,type,clause,tenant,tenant2,body,dedup)
    SELECT 1764057600000000 + g, 'alert', 'hv-bulk', 'bulk', '', 'tenant-a', '',
           jsonb_build_object('timestamp', '2025-11-25T08:00:00Z', 'n', g, 'pad', repeat('x', 5000)),
           'bulk-' || g FROM generate_series(1, 20000) g"
if ldd "$DBG_BIN" 2>/dev/null | grep -q libasan; then
    echo "ok - pg listing in bounded memory: not measured under ASan"
elif ! (ulimit -v 80000; "$DBG_BIN" store query --db "$BULK_DB" --type big_number >/dev/null 2>&1); then
    echo "ok - pg listing in bounded memory: this binary does not start under 80 MB, not measured"
else
    n=$(ulimit -v 80000; "$DBG_BIN" store query --db "$BULK_DB" --tenant tenant-a 2>"$TMP/err" | wc -l)
    expect_eq "pg listing of 100 MB of records under an 80 MB limit" "20000 " "$n $(cat "$TMP/err")"
fi
"$DBG_BIN" store query --db "postgresql:///nodb?host=$PGDIR&port=$PORT&user=postgres" 2>"$TMP/err"
expect_eq "pg missing database" 3 $?
expect_match "pg error explains" "cannot connect to PostgreSQL.*nodb" "$(cat "$TMP/err")"
finish
