#!/usr/bin/env bash
# The pages (issue 24) over the 1,000,000-story archive of benches/search.sh, while the daemon's
# first poll of the shared corpus (500 x 50) runs beside them: how long `/`, `/story/ID` and
# `/search?q=` take to answer (targets: p95 under 50, 50 and 300 ms). Loopback only.
#
#   bash benches/pages.sh                      # builds the archive once if absent (~4 min)
#   ARCHIVE=/path/news.db BIN=/path/newswatch bash benches/pages.sh
#   NO_LOAD=1 bash benches/pages.sh            # the first poll alone, no page asked for
#   ROUNDS=3 (default): rounds pooled, each on a fresh copy of the archive
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

# Migrated, the search index brought up to date (as a daemon that ran would have), matches
# marked: once, then copied for each round.
"$bin" --config "$work/nw.toml" search Obama --limit 1 >/dev/null
sqlite3 "$work/state/newswatch.db" <<'SQL'
INSERT OR IGNORE INTO matches (item_id, topic, keywords) SELECT id, 'bench', 'NATO' FROM items WHERE id % 10 = 0;
INSERT OR IGNORE INTO matches (item_id, topic, keywords) SELECT id, 'rare', 'zzyzx' FROM items WHERE id % 50 = 0;
UPDATE items SET state = 'queued', snippet = substr(body, 1, 200) WHERE id % 10 = 0;
SQL
latest=$(sqlite3 "$work/state/newswatch.db" "SELECT MAX(id) FROM items WHERE id % 10 = 0")
echo "matched: $(sqlite3 "$work/state/newswatch.db" "SELECT COUNT(DISTINCT item_id) FROM matches") stories"
mv "$work/state/newswatch.db" "$work/ready.db"
rm -f "$work/state/newswatch.db-wal" "$work/state/newswatch.db-shm"

# Each round: the prepared archive afresh, the daemon started (its first poll of the corpus
# begins at once), pages asked for one after another until the poll is done and 20 of each
# were asked after it. `samples`: "page phase ms path" per request.
: >"$work/samples"
for round in $(seq "${ROUNDS:-3}"); do
    rm -f "$work/state/"newswatch.db*
    cp "$work/ready.db" "$work/state/newswatch.db"
    "$bin" --config "$work/nw.toml" run 2>"$work/daemon.log" &
    daemon=$!
    pids+=("$daemon")
    wait_port "$http"
    if [ -n "${NO_LOAD:-}" ]; then
        while ! grep -q "polls done" "$work/daemon.log"; do sleep 0.2; done
    else
        python3 - "$http" "$work/daemon.log" "$latest" "$round" >>"$work/samples" <<'PY'
import random, sys, time, urllib.parse, urllib.request
port, log, latest, round_ = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(round_)
queries = ['Obama', 'Google', 'Apple OR Samsung', '"Federal Reserve"', 'Obama -Putin', 'Micro*',
           'intitle:Bieber', 'Ukraine Russia', 'oil prices', 'General Motors recall', 'zzyzx']
pages = {
    "/": lambda: rng.choice(["/", "/?range=30d", "/?topic=bench&range=30d", "/?topic=rare&range=30d", "/?page=2"]),
    "/story/ID": lambda: f"/story/{rng.randrange(1, latest + 1)}",
    "/search": lambda: "/search?q=" + urllib.parse.quote(rng.choice(queries)),
}
after = 0
started = time.time()
while after < 20 and time.time() - started < 600:
    busy = "polls done" not in open(log).read()
    after += not busy
    for name, pick in pages.items():
        path = pick()
        t = time.perf_counter()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}") as r:
            r.read()
        print(name, "during" if busy else "after", round((time.perf_counter() - t) * 1000, 2), path)
PY
    fi
    # How long the daemon's first poll took, from its start to "polls done".
    python3 - "$work/daemon.log" "$round" <<'PY'
import datetime, re, sys
times = []
for line in open(sys.argv[1]):
    m = re.match(r"(\S+Z)", line)
    if m:
        times.append((line, datetime.datetime.fromisoformat(m.group(1).replace("Z", "+00:00"))))
done = next((t for l, t in times if "polls done" in l), None)
print(f"round {sys.argv[2]}: the daemon's first poll took {(done - times[0][1]).total_seconds():.2f} s" if done else "the first poll did not finish")
PY
    kill "$daemon"
    wait "$daemon" 2>/dev/null || true
done
[ -n "${NO_LOAD:-}" ] && exit 0
python3 - "$work/samples" <<'PY'
import collections, sys
got = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, phase, ms, path = line.rstrip("\n").split(" ", 3)
    got[(name, phase)].append(float(ms))
    got[(path if name == "/search" else name, "path " + phase)].append(float(ms))
def p(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]
for (name, phase), xs in sorted(got.items(), key=lambda kv: (kv[0][1].startswith("path"), kv[0])):
    if phase.startswith("path") and not name.startswith("/search"):
        continue
    print(f"  {name:34} {phase:12} {len(xs):4} requests: p50 {p(xs, .5):7.1f} ms  p95 {p(xs, .95):7.1f} ms  max {max(xs):7.1f} ms")
PY
