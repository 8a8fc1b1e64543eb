#!/usr/bin/env bash
# Polling benchmark, on loopback only.
#
#   bash benches/poll.sh            # 500 feeds x 50 items; N=100 M=20 for a quick run
#   BIN=/path/to/newswatch bash benches/poll.sh   # time another build (e.g. before a change)
#   COPIES_ONLY=1 bash benches/poll.sh              # fold copies only ([dedup] rewrites = false)
#
# For a before/after comparison, copy both binaries afresh (and run them in turn): peak RSS
# depends on how the binary's pages sit in the page cache, and a just-written one reads up to
# 1 MB higher.
#
# 1. Serves the shared deterministic corpus (../shared/bench: gen_corpus.py, serve.py) on
#    127.0.0.1 and polls it twice with `newswatch poll`: the first poll fetches and stores
#    everything, the second must cost only 304s. Prints requests, statuses and body bytes the
#    server saw for each, with wall time, CPU time and peak RSS of newswatch.
# 2. Polls one source streaming 1 GiB and prints newswatch's peak RSS: the body cap
#    (fetch.max_body) is enforced while streaming, so memory stays bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
shared=${SHARED:-$root/../shared/bench}
N=${N:-500}
M=${M:-50}

if [ -z "${BIN:-}" ]; then
    cargo build --release --locked --quiet
fi
bin=${BIN:-$root/target/release/newswatch}
# shellcheck source=benches/lib.sh
source "$root/benches/lib.sh"

# Runs newswatch under GNU time; prints "wall_s cpu_s peak_rss_kib".
timed() {
    /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >"$work/out" 2>"$work/err" || true
    # GNU time writes "Command exited with non-zero status N" first when the command fails.
    read -r wall user sys rss < <(tail -1 "$work/time")
    echo "$wall $(python3 -c "print(round($user + $sys, 2))") $rss"
}
stats() { python3 -c "import json, urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$1/__stats?reset=1').read().decode())"; }
summary() {
    python3 -c '
import json, sys
s = json.loads(sys.stdin.read())
print("requests=%d status=%s body_bytes=%d conditional=%d" % (s["requests"], s["status"], s["body_bytes"], s["conditional"]))'
}

echo "== corpus: $N feeds x $M items"
serve_corpus "$N" "$M"
python3 "$shared/newswatch_config.py" "$work/urls.txt" "SDF,NATO,Ukraine,Self-Defense Forces" 9 "$work/state" >"$work/nw.toml"
# The bench corpus is dated in the past; report nothing as too old (newer versions of the
# shared generator already say so).
if [ -n "${COPIES_ONLY:-}" ]; then printf '\n[dedup]\nrewrites = false\n' >>"$work/nw.toml"; fi
grep -q '^max_age' "$work/nw.toml" || sed -i 's/^timeout = "30s"/timeout = "30s"\nmax_age = "36500d"/' "$work/nw.toml"
stats "$port" >/dev/null

read -r wall cpu rss <<<"$(timed "$bin" --config "$work/nw.toml" poll)"
# A poll that did not run (a config the binary refuses, say) must not pass for a fast one.
grep -q '^total:' "$work/out" || { echo "the poll did not run:" >&2; cat "$work/err" >&2; exit 1; }
tail -1 "$work/out"
echo "first poll:  wall ${wall}s  cpu ${cpu}s  peak RSS ${rss} KiB"
echo "  server: $(stats "$port" | summary)"
# Stories found against the generator's truth: reworded republications must fold into their
# stories (within 1 %), distinct stories must stay apart.
python3 - "$work/corpus/manifest.json" "$work/state/newswatch.db" <<'PY'
import json, sqlite3, sys
m = json.load(open(sys.argv[1]))
db = sqlite3.connect(sys.argv[2])
def line(name, found, want):
    print("  %-22s %6d stories, expected %6d (%+.1f %%)" % (name, found, want, 100.0 * (found - want) / max(want, 1)))
line("all", db.execute("SELECT COUNT(*) FROM items").fetchone()[0], m["unique_stories"])
for k, v in m["keywords"].items():
    n = db.execute("SELECT COUNT(DISTINCT item_id) FROM matches WHERE ('\n' || keywords || '\n') LIKE ?",
                   ("%\n" + k + "\n%",)).fetchone()[0]
    line(k, n, v["unique_stories"])
PY

read -r wall cpu rss <<<"$(timed "$bin" --config "$work/nw.toml" poll)"
tail -1 "$work/out"
echo "second poll: wall ${wall}s  cpu ${cpu}s  peak RSS ${rss} KiB"
echo "  server: $(stats "$port" | summary)"

echo "== one source streaming 1 GiB"
hport=$(free_port)
python3 "$root/benches/huge_source.py" "$hport" $((1 << 30)) 2>"$work/huge.err" &
pids+=($!)
wait_port "$hport"
cat >"$work/huge.toml" <<TOML
[storage]
database = "$work/huge.db"
[fetch]
timeout = "120s"
[[topic]]
name = "T"
keywords = ["NATO"]
[[source]]
name = "Huge"
url = "http://127.0.0.1:$hport/"
TOML
read -r wall cpu rss <<<"$(timed "$bin" --config "$work/huge.toml" poll)"
head -1 "$work/out"
echo "1 GiB source: wall ${wall}s  cpu ${cpu}s  peak RSS ${rss} KiB"
sleep 0.5
cat "$work/huge.err"
