#!/usr/bin/env bash
# Does the daemon's memory stay flat? `newswatch run` polls 500 loopback feeds that change at
# every request (benches/churn_server.py: 2 new items of 20 each time), every second, until
# each source has been polled POLLS times; its resident memory is read from /proc at each
# step. Prints RSS after the first 20 polls of each source and at the end, and their ratio
# (target: within 10 %).
#
#   bash benches/memory.sh                    # 500 sources, 200 polls each (~4 min)
#   FEEDS=100 POLLS=60 bash benches/memory.sh # quick
#
# Loopback only; everything it starts is stopped on exit. BIN=... measures another build.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
FEEDS=${FEEDS:-500}
POLLS=${POLLS:-200}
EARLY=${EARLY:-20}
if [ -z "${BIN:-}" ]; then
    (cd "$root" && cargo build --release --locked --quiet)
fi
bin=${BIN:-$root/target/release/newswatch}
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

python3 "$root/benches/churn_server.py" --feeds "$FEEDS" --port-file "$work/port" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")

{
    printf '[storage]\ndatabase = "%s/nw.db"\n\n' "$work"
    printf '[fetch]\ninterval = "1s"\ntimeout = "10s"\nmax_age = "7d"\nconcurrency = 16\nper_host = 16\nhost_delay = "0s"\n\n'
    printf '[digest]\nat = ["08:00"]\ntimezone = "UTC"\n\n'
    printf '[email]\ntransport = "file"\nfrom = "newswatch <nw@localhost>"\nto = ["bench@localhost"]\ndir = "%s/eml"\n\n' "$work"
    printf '[[topic]]\nname = "bench"\nkeywords = ["NATO", "Ukraine", "SDF", "Self-Defense Forces"]\n\n'
    for i in $(seq 0 $((FEEDS - 1))); do
        printf '[[source]]\nname = "feed %04d"\nurl = "http://127.0.0.1:%s/feeds/%04d.rss"\n\n' "$i" "$port" "$i"
    done
} > "$work/nw.toml"

"$bin" --config "$work/nw.toml" run > "$work/daemon.log" 2>&1 &
daemon=$!
pids+=($daemon)

requests() { python3 -c "import json, urllib.request; print(json.load(urllib.request.urlopen('http://127.0.0.1:$port/__stats'))['requests'])"; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$daemon/status"; }
early=""
shown=0
began=$(date +%s)
while :; do
    kill -0 "$daemon" 2>/dev/null || { echo "the daemon stopped:" >&2; tail -5 "$work/daemon.log" >&2; exit 1; }
    polls=$(( $(requests) / FEEDS ))
    now=$(rss)
    if [ -z "$early" ] && [ "$polls" -ge "$EARLY" ]; then
        early=$now
        echo "after $polls polls of each source: RSS $((now / 1024)) MB"
    fi
    if [ "$polls" -ge $((shown + 20)) ]; then
        shown=$((polls / 20 * 20))
        echo "  $polls polls: RSS $((now / 1024)) MB"
    fi
    [ "$polls" -ge "$POLLS" ] && break
    [ $(( $(date +%s) - began )) -gt 3600 ] && { echo "gave up after an hour at $polls polls" >&2; exit 1; }
    sleep 1
done
entries=$(python3 -c "import sqlite3; print(sqlite3.connect('$work/nw.db').execute('SELECT COUNT(*) FROM entries').fetchone()[0])")
echo "after $polls polls of each source: RSS $((now / 1024)) MB ($entries entries stored, $(( $(date +%s) - began )) s)"
python3 -c "print('end / early: %.3f (target: within 10 %%)' % ($now / $early))"
