#!/usr/bin/env bash
# Starts a throwaway PostgreSQL for the tests: a new cluster in a temporary folder, listening on
# 127.0.0.1 at a free port, trusting local connections (nothing else can reach it), run as an
# unprivileged user, with TLS (a CA of its own made here, whose certificate the tests trust).
# Installs Debian's postgresql when the machine has none (it brings the openssl tool).
#
#     eval "$(bash .ci/postgres.sh start)"   # sets NEWSWATCH_TEST_POSTGRES, NEWSWATCH_TEST_POSTGRES_CA
#                                            # and NEWSWATCH_TEST_POSTGRES_DIR
#     bash .ci/postgres.sh stop "$NEWSWATCH_TEST_POSTGRES_DIR"
set -euo pipefail

find_bin() {
    if command -v "$1" >/dev/null 2>&1; then command -v "$1"; return; fi
    ls -d /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -1
}

# Runs a PostgreSQL program as the cluster's owner: root may not own one.
as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
start)
    if [ -z "$(find_bin initdb)" ]; then
        as_root=""
        if [ "$(id -u)" != 0 ]; then as_root="sudo"; fi
        { $as_root apt-get update -q && DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -q \
            --no-install-recommends postgresql; } >&2
    fi
    initdb=$(find_bin initdb)
    pg_ctl=$(find_bin pg_ctl)
    if [ -z "$initdb" ] || [ -z "$pg_ctl" ]; then
        echo "PostgreSQL's initdb and pg_ctl not found, and could not be installed" >&2
        exit 1
    fi
    dir=$(mktemp -d /tmp/newswatch-pg.XXXXXX)
    user=$(id -un)
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; user=postgres; fi
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_owner "$initdb" -D "$dir/data" -U "$user" --auth=trust --encoding=UTF8 --locale=C.UTF-8 >&2
    # A CA, and the server's certificate for 127.0.0.1 and localhost signed by it.
    tls="$dir/data"
    {
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=newswatch test CA" \
            -keyout "$dir/ca.key" -out "$dir/ca.crt"
        openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$tls/server.key" -out "$dir/server.csr"
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >"$dir/ext"
        openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
            -days 2 -extfile "$dir/ext" -out "$tls/server.crt"
    } >/dev/null 2>"$dir/openssl.log" || { cat "$dir/openssl.log" >&2; exit 1; }
    chmod 600 "$tls/server.key"
    chmod 644 "$dir/ca.crt"
    if [ "$(id -u)" = 0 ]; then chown postgres "$tls/server.key" "$tls/server.crt"; fi
    as_owner "$pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c ssl=on" start >&2
    echo "export NEWSWATCH_TEST_POSTGRES='postgres://$user@127.0.0.1:$port/postgres'"
    echo "export NEWSWATCH_TEST_POSTGRES_CA='$dir/ca.crt'"
    echo "export NEWSWATCH_TEST_POSTGRES_DIR='$dir'"
    ;;
stop)
    dir=${2:?the folder start printed}
    as_owner "$(find_bin pg_ctl)" -D "$dir/data" -m immediate stop >&2 || true
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start | stop DIR" >&2
    exit 2
    ;;
esac
