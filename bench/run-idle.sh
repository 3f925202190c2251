#!/usr/bin/env bash
# Idle-connection memory: server VmRSS growth per open WebSocket connection.
#
#   bench/run-idle.sh                      # default servers (see below)
#   bench/run-idle.sh NAME=COMMAND ...     # any servers; {addr} in COMMAND -> 127.0.0.1:PORT
#
# Raises `ulimit -n` to the hard limit (for the server and the client), starts each server
# pinned to core $SERVER_CORE, waits $START_SETTLE s, then idle_conns (pinned to
# $CLIENT_CORE) reads the server's VmRSS, opens $CONNS connections (handshake complete, then
# idle; from $SOURCE_IPS source addresses 127.0.0.1..), waits $SETTLE s and reads VmRSS
# again. With MESSAGE_SIZE > 0 every connection first echoes one binary message of that
# size (so lazily allocated buffers are counted). The ratio column is KiB per connection
# divided by the first server's.
#
# Environment: CONNS (10000), SOURCE_IPS (4), SETTLE (3), START_SETTLE (1), MESSAGE_SIZE (0),
# SERVERS (names for the default list), FIXTURE (../target/release/fixture), NO_BUILD=1.
set -euo pipefail
source "$(dirname "$0")/common.sh"

CONNS=${CONNS:-10000}
SOURCE_IPS=${SOURCE_IPS:-4}
SETTLE=${SETTLE:-3}
START_SETTLE=${START_SETTLE:-1}
MESSAGE_SIZE=${MESSAGE_SIZE:-0}
SERVERS=${SERVERS:-"glue-tokio glue-std fastwebsockets tokio-tungstenite tokio-tungstenite-4k node-ws"}

if (( $(ulimit -n) < CONNS + 100 )); then
    echo "open-files limit $(ulimit -n) is too low for $CONNS connections" >&2
    exit 1
fi
specs=("$@")
if [[ ${#specs[@]} -eq 0 ]]; then
    for s in $SERVERS; do
        if server_available "$s"; then specs+=("$(server_spec "$s")"); else echo "skipping $s (not available)" >&2; fi
    done
fi
build_bench_bins
IDLE=$HERE/target/release/idle_conns
RESULTS=$(mktemp)

port=$BASE_PORT
for spec in "${specs[@]}"; do
    name=${spec%%=*} cmd=${spec#*=}
    port=$((port + 1))
    start_server "$name" "$cmd" "$port"
    echo "== $name (pid $SERVER_PID): $cmd" >&2
    sleep "$START_SETTLE"
    out=$(taskset -c "$CLIENT_CORE" "$IDLE" --url "ws://127.0.0.1:$port/" --server-pid "$SERVER_PID" \
        --conns "$CONNS" --source-ips "$SOURCE_IPS" --settle "$SETTLE" \
        --message-size "$MESSAGE_SIZE" --label "$name") || echo "idle_conns reported errors for $name" >&2
    echo "$out" | grep -v '^RESULT' >&2
    echo "$out" | grep '^RESULT' >>"$RESULTS" || true
    stop_server
    sleep 1
done

# RESULT label open rss0 rss1 per failed
awk '
$1 == "RESULT" { n++; line[n] = $0; if (n == 1) ref = $6 }
END {
    split(line[1], g, " ")
    print "| server | connections open | failed | RSS before (MiB) | RSS after (MiB) | KiB per connection | ratio vs " g[2] " |"
    print "|---|---:|---:|---:|---:|---:|---:|"
    for (i = 1; i <= n; i++) {
        split(line[i], f, " ")
        printf "| %s | %d | %d | %.1f | %.1f | %.2f | %.2f |\n", f[2], f[3], f[7], f[4] / 1024, f[5] / 1024, f[6], (ref > 0 ? f[6] / ref : 0)
    }
}' "$RESULTS"
rm -f "$RESULTS"
