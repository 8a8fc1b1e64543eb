# Helpers the benchmark scripts share (sourced, not run): a work folder and the servers started
# in it, removed and stopped on exit; free loopback ports; waiting for a server to listen.
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 100); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "server on port $1 did not start" >&2
    return 1
}

# The shared corpus of N feeds x M items written to $work/corpus and served on 127.0.0.1 (its
# port in $port), its URLs in $work/urls.txt; $work/state made for the database.
serve_corpus() {
    python3 "$shared/gen_corpus.py" "$work/corpus" --feeds "$1" --items "$2" >/dev/null
    port=$(free_port)
    python3 "$shared/serve.py" "$work/corpus" --port "$port" --max-seconds 900 &
    pids+=($!)
    wait_port "$port"
    python3 "$shared/make_lists.py" "http://127.0.0.1:$port" "$work/corpus" "$work" >/dev/null
    mkdir -p "$work/state"
}
