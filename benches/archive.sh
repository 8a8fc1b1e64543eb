#!/usr/bin/env bash
# Does a large archive slow a first poll? Polls the shared corpus (500 feeds x 50 items) into an
# empty database and into a copy of an archive of 1,000,000 entries, alternately, RUNS times
# each; prints each run's wall and CPU time and the mean ratio (target: under 1.2).
#
#   bash benches/archive.sh                      # builds the archive once (~3 min, ~1.7 GB)
#   ARCHIVE=/path/archive.db bash benches/archive.sh   # reuse (or place) an archive
#
# The archive is made by benches/cluster_insert.rs (entries over the past year through the
# real ingest path, 50 sources, default max_age and window). Loopback only; everything it
# starts is stopped on exit. BIN=... measures another build; N, M, RUNS as named.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$root/../shared/bench}
N=${N:-500}
M=${M:-50}
RUNS=${RUNS:-3}
archive=${ARCHIVE:-$root/target/archive-1m.db}
if [ -z "${BIN:-}" ]; then
    (cd "$root" && cargo build --release --locked --quiet)
fi
bin=${BIN:-$root/target/release/newswatch}
if [ ! -f "$archive" ]; then
    echo "== building the archive in $archive"
    (cd "$root" && cargo bench --bench cluster_insert -- "keep=$archive")
fi
# shellcheck source=benches/lib.sh
source "$root/benches/lib.sh"

python3 "$shared/gen_corpus.py" "$work/corpus" --feeds "$N" --items "$M" >/dev/null
python3 "$shared/serve.py" "$work/corpus" --port 0 --port-file "$work/port" --max-seconds 3600 >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
grep '^feeds/' "$work/corpus/index.txt" | sed "s|^|http://127.0.0.1:$port/|" > "$work/urls.txt"
keywords=$(python3 -c "import json; print(','.join(json.load(open('$work/corpus/manifest.json'))['keywords']))")
mkdir -p "$work/state"
python3 "$shared/newswatch_config.py" "$work/urls.txt" "$keywords" 2525 "$work/state" > "$work/nw.toml"

# Prints "wall cpu" of one first poll into the database as it stands.
first_poll() {
    /usr/bin/time -f '%e %U %S' -o "$work/time" "$bin" --config "$work/nw.toml" poll >/dev/null 2>"$work/err" || {
        tail -3 "$work/err" >&2
        exit 1
    }
    read -r wall user sys < <(tail -1 "$work/time")
    echo "$wall $(python3 -c "print(round($user + $sys, 2))")"
}
echo "archive: $(du -m "$archive" | cut -f1) MB"
: > "$work/results"
for run in $(seq "$RUNS"); do
    rm -f "$work/state/newswatch.db"*
    read -r wall cpu < <(first_poll)
    echo "run $run empty database:     wall ${wall}s cpu ${cpu}s"
    echo "empty $wall $cpu" >> "$work/results"
    rm -f "$work/state/newswatch.db"*
    cp "$archive" "$work/state/newswatch.db"
    # Read once, so that both runs start with the database in the page cache.
    cat "$work/state/newswatch.db" > /dev/null
    read -r wall cpu < <(first_poll)
    echo "run $run 1,000,000 archived: wall ${wall}s cpu ${cpu}s"
    echo "archive $wall $cpu" >> "$work/results"
done
python3 - "$work/results" <<'PY'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1])]
mean = lambda kind, i: st.mean(float(r[i]) for r in rows if r[0] == kind)
for i, what in ((1, "wall"), (2, "cpu")):
    print("%s: empty %.2f s, archive %.2f s: %.2fx (target: under 1.2x)" % (what, mean("empty", i), mean("archive", i), mean("archive", i) / mean("empty", i)))
PY
