# Benchmark for `dengbao image seal` and `dengbao image scan` on a 4 GiB raw image and a 4 GiB
# qcow2 (filled with non-zero data, so no zero-cluster shortcut applies), against OpenSSL's
# single-core SHA-256 (`openssl speed -evp sha256` and `openssl dgst` on the same file),
# `sha256sum` on the same file, and the `yara` command line on the same file. Files are in the
# page cache (this measures hashing/scanning, not the disk) and deleted at the end.
# Usage: DBG_BIN=build/dengbao bash bench/image.sh   (SIZE_MIB=4096 by default)
set -u
B=$(realpath "${DBG_BIN:-build/dengbao}")   # absolute: the bench runs in its own directory
SRC=${DBG_SRCDIR:-$(pwd)}
SIZE_MIB=${SIZE_MIB:-4096}
W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/dbg-bench-image-XXXXXX")
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1

now() { date +%s.%N; }
rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }   # MB/s
# timeit CMD...: prints wall seconds; leaves CPU seconds (user+sys) in $W/cpu. The machine is
# shared, so the CPU-time rate (bytes per CPU second) is reported beside the wall-clock rate.
timeit() {
    /usr/bin/time -f "%e %U %S" -o "$W/times" "$@" >/dev/null 2>&1
    local rc=$?
    # time(1) puts "Command exited with non-zero status N" first when rc != 0: use the last line
    tail -n 1 "$W/times" | awk '{ printf "%.3f", $1 }'
    tail -n 1 "$W/times" | awk '{ printf "%.3f", $2 + $3 }' > "$W/cpu"
    return $rc
}
cpu() { cat "$W/cpu"; }

bytes=$((SIZE_MIB * 1048576))
echo "== image bench: ${SIZE_MIB} MiB images, $(nproc) cores, load $(cut -d" " -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
t0=$(now)
head -c $((64 * 1048576)) /dev/urandom > block
for _ in $(seq 1 $((SIZE_MIB / 64))); do cat block; done > disk.raw
rm -f block
qemu-img convert -f raw -O qcow2 disk.raw disk.qcow2
openssl genpkey -algorithm ed25519 -out k.pem 2>/dev/null
# The page cache as a host has it for an image it read from disk (after a boot, or once the
# cache let it go), not as just written: each file's cached pages are dropped, then it is read
# back, so readahead can cache it in 2 MiB folios that `image seal` maps instead of copying
# (src/integrity/file_view.c). The "as just written" line below measures the other state.
hugekb() { awk '/^FileHugePages/ { print $2 }' /proc/meminfo; }
h0=$(hugekb)
sync   # written-back pages are the ones the kernel can drop
for f in disk.raw disk.qcow2; do dd if=$f iflag=nocache count=0 status=none; cat $f > /dev/null; done
echo "page cache: re-read after eviction; FileHugePages grew by $(( ($(hugekb) - h0) / 1024 )) MiB"
echo "setup: $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s (raw $(stat -c %s disk.raw) B, qcow2 $(stat -c %s disk.qcow2) B)"

# --- peers for hashing
# ossl_speed SECONDS: OpenSSL's one-core SHA-256 rate on 1 MiB blocks, MB/s
ossl_speed() {
    openssl speed -evp sha256 -bytes 1048576 -seconds "$1" 2>/dev/null |
        awk '/^sha256/ { v=$NF; sub(/k$/, "", v); printf "%.0f\n", v * 1000 / 1e6 }'
}
speed=$(ossl_speed 3)
echo "openssl speed -evp sha256 (1 MiB blocks, one core): ${speed} MB/s"
t=$(timeit openssl dgst -sha256 disk.raw); ossl_file=$(rate $bytes "$t")
echo "openssl dgst -sha256 disk.raw (one core, same file):  ${ossl_file} MB/s (${t} s; $(rate $bytes "$(cpu)") MB per CPU-s)"
t=$(timeit sha256sum disk.raw); s256=$(rate $bytes "$t")
echo "sha256sum disk.raw:                                   ${s256} MB/s (${t} s; $(rate $bytes "$(cpu)") MB per CPU-s)"

# --- seal vs openssl speed, interleaved: REPS rounds of (openssl speed, seal --threads 1, seal
# --threads 2) on the cached raw file, so load changes hit both sides; median and range.
REPS=${REPS:-3}
med_range() { sort -n | awk '{ v[NR] = $1 } END { printf "median %s, range %s-%s", v[int((NR + 1) / 2)], v[1], v[NR] }'; }
: > sp; : > t1w; : > t1c; : > t2w
for _ in $(seq 1 "$REPS"); do
    ossl_speed 2 >> sp
    t=$(timeit "$B" image seal disk.raw --key k.pem --threads 1 --no-progress --status-dir "$W/status")
    rate $bytes "$t" >> t1w; echo >> t1w; rate $bytes "$(cpu)" >> t1c; echo >> t1c
    t=$(timeit "$B" image seal disk.raw --key k.pem --threads 2 --no-progress --status-dir "$W/status")
    rate $bytes "$t" >> t2w; echo >> t2w
done
echo "interleaved x$REPS (load $(cut -d" " -f1-3 /proc/loadavg)):"
echo "  openssl speed -evp sha256 (1 MiB):        $(med_range < sp) MB/s"
echo "  image seal disk.raw --threads 1, wall:    $(med_range < t1w) MB/s"
echo "  image seal disk.raw --threads 1, per CPU-s: $(med_range < t1c) MB/s"
echo "  image seal disk.raw --threads 2, wall:    $(med_range < t2w) MB/s"
echo "  per-round ratios seal-1-thread-wall / openssl speed: $(paste -d' ' t1w sp | awk '{ printf "%.0f%% ", 100 * $1 / $2 }')"
echo "  per-round scaling 2 threads / 1 thread (wall): $(paste -d' ' t2w t1w | awk '{ printf "%.2fx ", $1 / $2 }')"

# --- seal
# qcow2: the seal hashes the guest content and the container file (two roots, 8 GiB of SHA-256
# input for 4 GiB of image), so its rate is given per byte hashed, interleaved as for raw.
cbytes=$(stat -c %s disk.qcow2)
: > q1; : > sq
for _ in $(seq 1 "$REPS"); do
    ossl_speed 2 >> sq
    t=$(timeit "$B" image seal disk.qcow2 --key k.pem --threads 1 --no-progress --status-dir "$W/status")
    rate $((bytes + cbytes)) "$t" >> q1; echo >> q1
done
echo "interleaved x$REPS, qcow2, one thread:"
echo "  image seal disk.qcow2 --threads 1, content + container hashed: $(med_range < q1) MB/s"
echo "  per-round ratios / openssl speed: $(paste -d' ' q1 sq | awk '{ printf "%.0f%% ", 100 * $1 / $2 }')"

# The same bytes in a file whose cache holds what was just written (small folios): hashed by
# reading it into a buffer, as a file that maps only 4 KiB at a time is cheaper to copy here.
cat disk.raw > written.raw
sync # written back, so no flusher competes with the seal
: > ww; : > wc
for _ in 1 2 3; do
    t=$(timeit "$B" image seal written.raw --key k.pem --threads 1 --no-progress --status-dir "$W/status")
    rate $bytes "$t" >> ww; echo >> ww; rate $bytes "$(cpu)" >> wc; echo >> wc
done
echo "dengbao image seal written.raw --threads 1 (cache as just written, x3): wall $(med_range < ww) MB/s; per CPU-s $(med_range < wc) MB/s"
rm -f written.raw written.raw.dengbao-seal

for fmt in raw qcow2; do
    for th in 1 2; do
        t=$(timeit "$B" image seal disk.$fmt --key k.pem --threads "$th" --no-progress --status-dir "$W/status")
        r=$(rate $bytes "$t")
        if [ "$fmt" = raw ]; then
            echo "dengbao image seal disk.raw   --threads $th: ${r} MB/s (${t} s; $(rate $bytes "$(cpu)") MB per CPU-s) = $(awk -v a="$r" -v b="$speed" 'BEGIN { printf "%.0f%%", 100 * a / b }') of openssl speed, $(awk -v a="$r" -v b="$s256" 'BEGIN { printf "%.1fx", a / b }') sha256sum"
        else
            echo "dengbao image seal disk.qcow2 --threads $th: ${r} MB/s of guest content (${t} s); content + container hashed: $(rate $((bytes + cbytes)) "$t") MB/s ($(rate $((bytes + cbytes)) "$(cpu)") MB per CPU-s)"
        fi
    done
done

# --- scan
rules=$(ls "$SRC"/data/rules/yara/*.yar)
# shellcheck disable=SC2086
t=$(timeit yara $rules disk.raw); yr=$(rate $bytes "$t")
echo "yara CLI (4.2, shipped rules) disk.raw:              ${yr} MB/s (${t} s; $(rate $bytes "$(cpu)") MB per CPU-s)"
for fmt in raw qcow2; do
    for th in 1 2; do
        t=$(timeit "$B" image scan disk.$fmt --threads "$th" --no-progress)
        r=$(rate $bytes "$t")
        echo "dengbao image scan disk.$fmt --threads $th: ${r} MB/s (${t} s; $(rate $bytes "$(cpu)") MB per CPU-s) = $(awk -v a="$r" -v b="$yr" 'BEGIN { printf "%.2fx", a / b }') yara CLI"
    done
done

# --- wipe-check and migrate-check (reads of the same data)
t=$(timeit "$B" volume wipe-check disk.raw)
echo "dengbao volume wipe-check disk.raw (non-zero, reports ranges): $(rate $bytes "$t") MB/s (${t} s)"
t=$(timeit "$B" image migrate-check --source disk.qcow2 --dest disk.raw --no-progress)
echo "dengbao image migrate-check qcow2 vs raw (both hashed, 2 threads): $(rate $((2 * bytes)) "$t") MB/s of content (${t} s)"
echo "done; big files deleted"
