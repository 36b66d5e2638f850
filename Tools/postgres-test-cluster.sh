#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for Tally's PostgreSQL tests (and for trying the sink by hand).
#
#   Tools/postgres-test-cluster.sh install          install postgresql-15, -hll, -tdigest when missing (apt)
#   Tools/postgres-test-cluster.sh start DIR        initdb into DIR (new, empty or absent), start on 127.0.0.1
#                                                   on a free port and on a Unix socket in DIR; prints the port
#   Tools/postgres-test-cluster.sh stop DIR         stop the server (fast shutdown), keep DIR
#   Tools/postgres-test-cluster.sh restart DIR      start a stopped cluster again on the same port
#   Tools/postgres-test-cluster.sh destroy DIR      stop it (immediate) and delete DIR
#
# Runs the server as the `postgres` system user when started as root (initdb refuses root),
# else as the current user. Local (socket) connections are trusted; TCP connections need a
# SCRAM password. The superuser is `postgres`.
set -euo pipefail

BIN=/usr/lib/postgresql/15/bin

as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install_packages() {
    local missing=()
    for package in postgresql-15 postgresql-15-hll postgresql-15-tdigest; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ]; then echo "missing ${missing[*]}: run this as root to install" >&2; exit 1; fi
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start() {
    local dir=$1
    [ -x "$BIN/initdb" ] || { echo "PostgreSQL 15 is not installed (run: $0 install)" >&2; exit 1; }
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    chmod 700 "$dir"
    as_owner "$BIN/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 </dev/null || { cat "$dir/initdb.log" >&2; exit 1; }
    local port
    port=$(free_port)
    echo "$port" >"$dir/port"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir/port"
    run_server "$dir"
    echo "$port"
}

run_server() {
    local dir=$1 port
    port=$(cat "$dir/port")
    as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=32MB -c max_connections=40" \
        start >/dev/null 2>&1 </dev/null || { cat "$dir/server.log" >&2; exit 1; }
}

stop() {
    local dir=$1 mode=${2:-fast}
    [ -f "$dir/data/postmaster.pid" ] || return 0
    as_owner "$BIN/pg_ctl" -D "$dir/data" -m "$mode" -w -t 60 stop >/dev/null
}

case "${1:-}" in
    install) install_packages ;;
    start) start "$2" ;;
    stop) stop "$2" ;;
    restart) run_server "$2" ;;
    destroy) stop "$2" immediate || true; rm -rf "$2" ;;
    *) sed -n '2,13p' "$0" >&2; exit 2 ;;
esac
