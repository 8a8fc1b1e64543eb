#!/usr/bin/env bash
# The archive at 1,000,000 stories: how long the search index takes to catch up with an archive
# that has none, how fast `newswatch search --limit 50` answers (each query RUNS times, the
# whole command: start, config, open, search; target p95 < 300 ms), and what retention does
# (`prune` with keep = 180d of a year, then `prune --vacuum`): time, and the file's size before
# and after.
#
#   bash benches/search.sh                     # builds the archive once (~4 min, ~1.5 GB)
#   ARCHIVE=/path/news.db bash benches/search.sh
#
# The archive is made by benches/cluster_insert.rs with words drawn from 33,000 real headlines
# (../shared/clusterdata/uci_week.tsv), as often as they occur there: text whose trigrams are
# those of English news, unlike the w1234 words of the clustering archive. No network at all.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
words=${WORDS:-$root/../shared/clusterdata/uci_week.tsv}
archive=${ARCHIVE:-$root/target/archive-1m-news.db}
RUNS=${RUNS:-5}
if [ -z "${BIN:-}" ]; then
    (cd "$root" && cargo build --release --locked --quiet)
fi
bin=${BIN:-$root/target/release/newswatch}
if [ ! -f "$archive" ]; then
    echo "== building the archive in $archive"
    (cd "$root" && cargo bench --bench cluster_insert -- "words=$words" "keep=$archive")
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$archive" "$work/news.db"
cat > "$work/nw.toml" <<EOF
[storage]
database = "news.db"
keep = "180d"

[[topic]]
name = "T"
keywords = ["NATO"]

[[source]]
name = "source 3"
url = "http://127.0.0.1:9/feed"
EOF
mb() { echo $(( $(stat -c %s "$1") / 1000000 )); }
echo "archive: $(mb "$work/news.db") MB"

# The first search brings the index up to date.
/usr/bin/time -f '%e %U %S' -o "$work/time" "$bin" --config "$work/nw.toml" search "Obama" --limit 1 >/dev/null
read -r wall user sys < <(tail -1 "$work/time")
echo "index catch-up: wall ${wall}s cpu $(python3 -c "print(round($user + $sys, 1))")s; archive now $(mb "$work/news.db") MB"

queries=(
    'Obama' 'Google' 'Apple OR Samsung' '"Federal Reserve"' 'Obama -Putin' 'Micro*'
    'intitle:Bieber' '"Lindsay Lohan"' 'Ukraine Russia' 'Heartbleed' 'Obama NEAR/3 health'
    'site:site3.example Obama' 'oil prices' 'Kardashian OR Bieber OR Lohan' 'General Motors recall'
    'US' 'Xi' '"Obama Lohan"' 'ama' 'zzyzx'
)
: > "$work/times"
for q in "${queries[@]}"; do
    for _ in $(seq "$RUNS"); do
        s=$(date +%s%N)
        "$bin" --config "$work/nw.toml" search "$q" --limit 50 --json > "$work/out.json" 2>/dev/null
        e=$(date +%s%N)
        echo "$(( (e - s) / 1000000 )) $q" >> "$work/times"
    done
    python3 - "$work/out.json" "$q" "$work/times" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
ms = sorted(int(l.split(" ", 1)[0]) for l in open(sys.argv[3]) if l.rstrip("\n").split(" ", 1)[1] == sys.argv[2])
print(f"  {sys.argv[2]!r:34} {len(d['results']):3} results, {d['checked']:7} checked, median {ms[len(ms)//2]:4} ms")
EOF
done
python3 - "$work/times" <<'EOF'
import sys
ms = sorted(int(l.split(" ", 1)[0]) for l in open(sys.argv[1]))
pick = lambda p: ms[min(len(ms) - 1, int(p * len(ms)))]
print(f"search --limit 50, {len(ms)} runs: p50 {pick(0.5)} ms, p95 {pick(0.95)} ms, max {ms[-1]} ms (target p95 < 300 ms)")
EOF

/usr/bin/time -f '%e %U %S %M' -o "$work/time" "$bin" --config "$work/nw.toml" prune --json > "$work/prune.json"
read -r wall user sys rss < <(tail -1 "$work/time")
python3 - "$work/prune.json" "$wall" "$rss" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"prune (keep 180d): {d['pruned']} stories in {sys.argv[2]} s, max RSS {int(sys.argv[3]) // 1000} MB; "
      f"file {d['bytes_before'] // 1000000} MB -> {d['bytes_after'] // 1000000} MB")
EOF
/usr/bin/time -f '%e %M' -o "$work/time" "$bin" --config "$work/nw.toml" prune --vacuum --json > "$work/prune.json"
read -r wall rss < <(tail -1 "$work/time")
python3 - "$work/prune.json" "$wall" "$rss" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"prune --vacuum: {sys.argv[2]} s, max RSS {int(sys.argv[3]) // 1000} MB; "
      f"file {d['bytes_before'] // 1000000} MB -> {d['bytes_after'] // 1000000} MB")
EOF
"$bin" --config "$work/nw.toml" search "Obama" --limit 50 --json > "$work/out.json"
echo "after pruning: 'Obama' $(python3 -c "import json; print(len(json.load(open('$work/out.json'))['results']))") results"
