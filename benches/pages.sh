#!/usr/bin/env bash
# The pages (issue 24) over the 1,000,000-story archive of benches/search.sh, while the daemon's
# first poll of the shared corpus (500 x 50) runs beside them: how long `/`, `/story/ID` and
# `/search?q=` take to answer (targets: p95 under 50, 50 and 300 ms). Loopback only.
#
#   bash benches/pages.sh                      # builds the archive once if absent (~4 min)
#   ARCHIVE=/path/news.db BIN=/path/newswatch bash benches/pages.sh
#
# The archive's stories matched nothing (benches/cluster_insert.rs stores, it does not match):
# one in ten is marked matched by topic "bench" (and one in fifty by "rare"), queued, with the
# start of its text as snippet, so that `/` has a matched story for every ten stored. The
# search index is brought up to date before the daemon starts (as its upkeep would have).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
shared=${SHARED:-$root/../shared/bench}
words=${WORDS:-$root/../shared/clusterdata/uci_week.tsv}
archive=${ARCHIVE:-$root/target/archive-1m-news.db}
N=${N:-500}
M=${M:-50}
if [ -z "${BIN:-}" ]; then
    cargo build --release --locked --quiet
fi
bin=${BIN:-$root/target/release/newswatch}
if [ ! -f "$archive" ]; then
    echo "== building the archive in $archive"
    cargo bench --bench cluster_insert -- "words=$words" "keep=$archive"
fi
# shellcheck source=benches/lib.sh
source "$root/benches/lib.sh"

echo "== corpus: $N feeds x $M items; archive: $(( $(stat -c %s "$archive") / 1000000 )) MB"
serve_corpus "$N" "$M"
cp "$archive" "$work/state/newswatch.db"
http=$(free_port)
{
    python3 "$shared/newswatch_config.py" "$work/urls.txt" "SDF,NATO,Ukraine,Self-Defense Forces" 9 "$work/state"
    printf '\n[[topic]]\nname = "rare"\nkeywords = ["zzyzx"]\n\n[http]\nlisten = "127.0.0.1:%s"\n' "$http"
} >"$work/nw.toml"
# The default max_age (7 days): the clustering window holds the archive's last week, as it would
# for a daemon that has run for a year (the corpus's old entries are stored, not reported).
sed -i 's/^max_age = .*/max_age = "7d"/' "$work/nw.toml"

# Migrate, and bring the search index up to date, as a daemon that ran would have.
"$bin" --config "$work/nw.toml" search Obama --limit 1 >/dev/null
sqlite3 "$work/state/newswatch.db" <<'SQL'
INSERT OR IGNORE INTO matches (item_id, topic, keywords) SELECT id, 'bench', 'NATO' FROM items WHERE id % 10 = 0;
INSERT OR IGNORE INTO matches (item_id, topic, keywords) SELECT id, 'rare', 'zzyzx' FROM items WHERE id % 50 = 0;
UPDATE items SET state = 'queued', snippet = substr(body, 1, 200) WHERE id % 10 = 0;
SQL
latest=$(sqlite3 "$work/state/newswatch.db" "SELECT MAX(id) FROM items WHERE id % 10 = 0")
echo "matched: $(sqlite3 "$work/state/newswatch.db" "SELECT COUNT(DISTINCT item_id) FROM matches") stories"

"$bin" --config "$work/nw.toml" run 2>"$work/daemon.log" &
pids+=($!)
wait_port "$http"
python3 - "$http" "$work/daemon.log" "$latest" <<'PY'
import random, sys, time, urllib.parse, urllib.request
port, log, latest = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
rng = random.Random(1)
queries = ['Obama', 'Google', 'Apple OR Samsung', '"Federal Reserve"', 'Obama -Putin', 'Micro*',
           'intitle:Bieber', 'Ukraine Russia', 'oil prices', 'General Motors recall', 'zzyzx']
def story():
    return f"/story/{rng.randrange(1, latest + 1)}"
pages = {
    "/": lambda: rng.choice(["/", "/?range=30d", "/?topic=bench&range=30d", "/?topic=rare&range=30d", "/?page=2"]),
    "/story/ID": story,
    "/search": lambda: "/search?q=" + urllib.parse.quote(rng.choice(queries)),
}
during, after = {k: [] for k in pages}, {k: [] for k in pages}
def polling():
    return "polls done" not in open(log).read()
started = time.time()
while True:
    busy = polling()
    if not busy and all(len(v) >= 60 for v in after.values()):
        break
    if time.time() - started > 600:
        break
    for name, pick in pages.items():
        url = f"http://127.0.0.1:{port}{pick()}"
        t = time.perf_counter()
        with urllib.request.urlopen(url) as r:
            r.read()
        (during if busy else after)[name].append((time.perf_counter() - t) * 1000)
def p(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")
for name in pages:
    for label, got in (("during the first poll", during[name]), ("after it", after[name])):
        print(f"  {name:10} {label:22} {len(got):4} requests: p50 {p(got, .5):6.1f} ms  p95 {p(got, .95):6.1f} ms  max {max(got, default=float('nan')):6.1f} ms")
PY
grep -m1 "polls done" "$work/daemon.log" | sed 's/^/  daemon: /' || true
