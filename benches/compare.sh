#!/usr/bin/env bash
# newswatch against the feed pollers people use today, on one loopback corpus, in one command.
#
#   bash benches/compare.sh                                  # 500 feeds x 50 items, 0 and 50 ms RTT
#   N=100 LATENCIES=0 PEERS="fp-seq" bash benches/compare.sh # quick
#
# Builds newswatch (release), then runs ../shared/bench/run_peers.sh (corpus generator, loopback
# server, SMTP sink, peers) with newswatch plugged in through `poll --json`. Every setting of
# run_peers.sh (N, M, LATENCIES, PEERS, REPEAT, WORK, ...) passes through; PEERS defaults to all
# of them. The peers must be installed: `apt-get install newsboat time` and
# `pip install rss2email feedparser aiosmtpd` (see ../shared/bench/README.md). Loopback only.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$root/../shared/bench}
[ -x "$shared/run_peers.sh" ] || [ -f "$shared/run_peers.sh" ] || {
    echo "compare.sh: no $shared/run_peers.sh (set SHARED to the shared bench folder)" >&2
    exit 2
}
(cd "$root" && cargo build --release --locked --quiet)
# A copy, so that a rebuild while the comparison runs does not change what is measured.
bin=$(mktemp -d)/newswatch
cp "$root/target/release/newswatch" "$bin"

# The shared config allows 16 requests at once (16 per host: every feed is on one host). With
# 50 ms of latency an unchanged poll of 500 is then bound by 500 x 50 ms / 16 = 1.6 s; 128 in
# flight (CONCURRENCY) bring it to about 0.25 s. The shipped defaults stay lower (16, 2 per
# host): see docs/performance.md.
CONCURRENCY=${CONCURRENCY:-128}
export DAEMON_NAME=newswatch
export DAEMON_SETUP_CMD="python3 '$shared/newswatch_config.py' \"\$URLS\" \"\$KEYWORDS\" \"\$SMTP_PORT\" \"\$STATE\" > \"\$STATE/nw.toml\" && sed -i 's/^concurrency = .*/concurrency = $CONCURRENCY/; s/^per_host = .*/per_host = $CONCURRENCY/' \"\$STATE/nw.toml\""
export DAEMON_CMD="'$bin' --config \"\$STATE/nw.toml\" poll --json"
export PEERS=${PEERS:-"newsboat r2e-digest fp-seq fp-threads"}
exec bash "$shared/run_peers.sh"
