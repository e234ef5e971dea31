#!/bin/bash
# bench/bench-stats.sh - vsim-stats on a generated run (issue 5), side by side with
# (a) bench/stats_numpy.py (h5py + numpy, the same statistics) and (b) the physical
# limit: reading the same shard files' bytes from the page cache (1 MiB read()s).
# Goals: >= 5x faster than (a), within 1.5x of (b), peak RSS <= 3x the largest
# tensor + 64 MB. Sizes (environment): STEPS=200 MAX_MB=16 (largest tensor; about
# 2.7 GB in all); a quick check: STEPS=20 MAX_MB=4. The run lives in $BENCH_DIR
# (default /tmp) and is deleted at the end.
set -eu
VSIM_BIN=${VSIM_BIN:-$PWD/bin}
VSIM_BUILD=${VSIM_BUILD:-$PWD/build}
PYTHON=${PYTHON:-/usr/bin/python3}
STEPS=${STEPS:-200}
MAX_MB=${MAX_MB:-16}
REPS=${REPS:-3}
DIR=$(mktemp -d "${BENCH_DIR:-/tmp}/vsim-bench-stats.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "bench-stats: needs /usr/bin/time (Debian package 'time')"; exit 1; }

need_mb=$(( STEPS * MAX_MB * 9 / 10 + 100 ))
avail_mb=$(df -Pm "$DIR" | awk 'NR == 2 { print $4 }')
if [ "$avail_mb" -lt $(( need_mb * 2 )) ]; then
    echo "bench-stats: $avail_mb MB free in $DIR, want $(( need_mb * 2 ))"; exit 1
fi

"$VSIM_BUILD/bench/bench_stats" gen "$DIR/run" "$STEPS" "$MAX_MB"
files=$(ls "$DIR"/run/shards/w*/step-*.h5)
bytes=$(cat $files | wc -c)
n_files=$(echo "$files" | wc -l)
echo "run: $n_files shards, $(( bytes / 1048576 )) MiB, largest tensor $MAX_MB MiB," \
     "$(nproc) cores"

# best of REPS wall seconds of a command; the peak RSS (KiB) of the last run in $DIR/rss
best() {
    local b=999999 t
    for _ in $(seq "$REPS"); do
        $TIME -f "%e %M" -o "$DIR/time" "$@" > /dev/null
        t=$(awk '{ print $1 }' "$DIR/time")
        b=$(awk -v a="$b" -v c="$t" 'BEGIN { print (c < a) ? c : a }')
    done
    awk '{ print $2 }' "$DIR/time" > "$DIR/rss"
    echo "$b"
}

"$VSIM_BUILD/bench/bench_stats" read $files > /dev/null    # into the page cache
phys=999999
for _ in $(seq "$REPS"); do
    t=$("$VSIM_BUILD/bench/bench_stats" read $files | awk '{ print $2 }')
    phys=$(awk -v a="$phys" -v c="$t" 'BEGIN { print (c < a) ? c : a }')
done
trial=999999
for _ in $(seq "$REPS"); do
    t=$("$VSIM_BUILD/bench/bench_stats" trial "$DIR/run" | awk '{ print $2 }')
    trial=$(awk -v a="$trial" -v c="$t" 'BEGIN { print (c < a) ? c : a }')
done
t_vsim=$(best "$VSIM_BIN/vsim-stats" --all-steps --format csv "$DIR/run")
rss_vsim=$(cat "$DIR/rss")
t_vsim1=$(best "$VSIM_BIN/vsim-stats" --all-steps --format csv --threads 1 "$DIR/run")
REPS=1 t_py=$(best "$PYTHON" bench/stats_numpy.py "$DIR/run")
rss_py=$(cat "$DIR/rss")

awk -v b="$bytes" -v p="$phys" -v tr="$trial" -v v="$t_vsim" -v v1="$t_vsim1" -v y="$t_py" \
    -v rv="$rss_vsim" -v ry="$rss_py" -v mx="$MAX_MB" 'BEGIN {
    printf "%-44s %9s %10s %10s\n", "", "seconds", "MB/s", "peak MiB"
    f = "%-44s %9.3f %10.0f %10s\n"
    printf f, "(b) read the shard bytes (page cache)", p, b / p / 1e6, "-"
    printf f, "read every tensor (trial API, no statistics)", tr, b / tr / 1e6, "-"
    printf f, "vsim-stats --all-steps (all threads)", v, b / v / 1e6, sprintf("%.0f", rv / 1024)
    printf f, "vsim-stats --all-steps --threads 1", v1, b / v1 / 1e6, "-"
    printf f, "(a) h5py + numpy (bench/stats_numpy.py)", y, b / y / 1e6, sprintf("%.0f", ry / 1024)
    printf "speed-up over (a): %.1fx (goal >= 5x); vs (b): %.2fx (goal <= 1.5x)\n", y / v, v / p
    printf "peak RSS %.0f MiB; goal <= 3 x %d + 64 = %d MiB\n", rv / 1024, mx, 3 * mx + 64
}'
