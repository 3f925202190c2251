#!/usr/bin/env bash
# Socket.IO v2 (Engine.IO 3, WebSocket transport) benchmarks, side by side in one run:
# ours (glue-tokio, src/bin/sio_server.rs), socketioxide 0.18 with `v4`
# (src/bin/sioxide_server.rs) and Node socket.io@2.5.1 (sio-server.js). Each server is pinned
# to core $SERVER_CORE, the load generator (src/bin/sio_load.rs) to $CLIENT_CORE.
#
#   1. echo + ack round trips per server CPU-second, closed loop, $CLIENTS clients
#      (each one `echo` request of a 20-char string in flight);
#   2. idle memory: server VmRSS growth / sockets at $CONNS sockets (handshake done, `/`
#      connected, pinging every pingInterval = 25 s);
#   3. broadcast: $CONNS sockets in one room, the server emits one event to the room per
#      trigger (at most $WINDOW broadcasts not yet received by everyone): deliveries per
#      second and per server CPU-second.
#
#   bench/run-sio.sh
#   REPEAT=3 DURATION=8 WARMUP=2 bench/run-sio.sh
#   SERVERS="ours socketioxide" SKIP="idle bcast" bench/run-sio.sh
#
# Environment: DURATION (8), WARMUP (2), REPEAT (1; per cell the best of n runs is shown),
# CLIENTS ("100 1000"), CONNS (10000), WINDOW (4), SERVERS ("ours socketioxide node"),
# SKIP ("" or any of "echo idle bcast"), SETTLE (5), NO_BUILD=1, CARGO_TARGET_DIR (bench/target),
# LOAD_MAX (0.7) and WAIT_MAX (180): before each measurement wait (polling every 10 s, at
# most WAIT_MAX s) until the 1-minute load average is below LOAD_MAX; the load average at the
# start and at the end of each measurement is shown in the tables.
set -euo pipefail
source "$(dirname "$0")/common.sh"

DURATION=${DURATION:-8}
WARMUP=${WARMUP:-2}
REPEAT=${REPEAT:-1}
CLIENTS=${CLIENTS:-"100 1000"}
CONNS=${CONNS:-10000}
WINDOW=${WINDOW:-4}
SERVERS=${SERVERS:-"ours socketioxide node"}
SKIP=${SKIP:-}
SETTLE=${SETTLE:-5}
LOAD_MAX=${LOAD_MAX:-0.7}
WAIT_MAX=${WAIT_MAX:-180}
BIN=${CARGO_TARGET_DIR:-$HERE/target}/release
build_bench_bins
if (( $(ulimit -n) < CONNS + 100 )); then
    echo "open-files limit $(ulimit -n) is too low for $CONNS connections" >&2
    exit 1
fi
RESULTS=$(mktemp)
port=$((BASE_PORT + 400))

sio_spec() {
    case "$1" in
    ours) echo "$BIN/sio_server --listen {addr}" ;;
    socketioxide) echo "$BIN/sioxide_server --listen {addr}" ;;
    node) echo "node $HERE/sio-server.js --listen {addr}" ;;
    *) echo "unknown server $1" >&2; return 1 ;;
    esac
}
if [[ " $SERVERS " == *" node "* && ! -d "$HERE/node_modules/socket.io" ]]; then
    echo "node: bench/node_modules/socket.io missing (run npm ci in bench/); skipping node" >&2
    SERVERS=${SERVERS//node/}
fi

load1() { cut -d' ' -f1 /proc/loadavg; }

# Waits until the 1-minute load average is below LOAD_MAX (at most WAIT_MAX s).
wait_quiet() {
    local waited=0
    while awk -v l="$(load1)" -v m="$LOAD_MAX" 'BEGIN { exit !(l >= m) }'; do
        if (( waited >= WAIT_MAX )); then
            echo "  load $(load1) still >= $LOAD_MAX after ${WAIT_MAX} s; measuring anyway" >&2
            return
        fi
        (( waited == 0 )) && echo "  waiting for load < $LOAD_MAX (now $(load1))" >&2
        sleep 10
        waited=$((waited + 10))
    done
}

# run_load KIND NAME ARGS...: one sio_load run against the current server; appends
# "KIND NAME load_before load_after RESULT-fields" to $RESULTS.
run_load() {
    local kind=$1 name=$2; shift 2
    wait_quiet
    local l0 l1 out
    l0=$(load1)
    out=$(taskset -c "$CLIENT_CORE" "$BIN/sio_load" --url "ws://127.0.0.1:$port" \
        --server-pid "$SERVER_PID" --label "$name" "$@") || { echo "$out" >&2; echo "  sio_load failed for $name" >&2; return 0; }
    l1=$(load1)
    echo "$out" | grep -v '^RESULT' | sed 's/^/  /' >&2
    echo "$out" | grep '^RESULT' | sed "s/^RESULT/$kind $name $l0 $l1/" >>"$RESULTS"
}

start() {
    port=$((port + 1))
    start_server "$1" "$(sio_spec "$1")" "$port"
    echo "== $1 (pid $SERVER_PID) on port $port" >&2
    sleep 1
}

# ---------------------------------------------------------------- 1. echo + ack
if [[ " $SKIP " != *" echo "* ]]; then
  for rep in $(seq 1 "$REPEAT"); do
    for n in $CLIENTS; do
      for s in $SERVERS; do
        start "$s"
        run_load ECHO "$s" --mode echo --conns "$n" --size 20 --duration "$DURATION" --warmup "$WARMUP"
        stop_server
      done
    done
  done
fi

# ---------------------------------------------------------------- 2. idle memory
if [[ " $SKIP " != *" idle "* ]]; then
  for rep in $(seq 1 "$REPEAT"); do
    for s in $SERVERS; do
      start "$s"
      run_load IDLE "$s" --mode idle --conns "$CONNS" --settle "$SETTLE"
      stop_server
      sleep 1
    done
  done
fi

# ---------------------------------------------------------------- 3. broadcast
if [[ " $SKIP " != *" bcast "* ]]; then
  for rep in $(seq 1 "$REPEAT"); do
    for s in $SERVERS; do
      start "$s"
      run_load BCAST "$s" --mode bcast --conns "$CONNS" --size 20 --window "$WINDOW" \
          --duration "$DURATION" --warmup "$WARMUP"
      stop_server
      sleep 1
    done
  done
fi

# ECHO|BCAST name l0 l1 mode label conns size count secs rate cpu per_cpu client_cpu extra
# IDLE name l0 l1 idle label open rss0 rss1 per failed
awk '
$1 == "ECHO" || $1 == "BCAST" {
    id = $1 " " $2 " " $7
    if (!(id in best) || $13 > best[id]) {
        if (!(id in best)) order[++n] = id
        best[id] = $13; rate[id] = $11; core[id] = 100 * $12 / $10; cl[id] = 100 * $14 / $10
        load[id] = $3 "-" $4; extra[id] = $15
    }
    if ($2 == "ours") { k = $1 " " $7; if (!(k in ours) || $13 > ours[k]) { ours[k] = $13; oursrate[k] = $11 } }
}
$1 == "IDLE" {
    id = $2
    if (!(id in iper) || $10 < iper[id]) {
        if (!(id in iper)) iorder[++m] = id
        iper[id] = $10; iopen[id] = $7; ifail[id] = $11; r0[id] = $8; r1[id] = $9; iload[id] = $3 "-" $4
    }
}
function table(kind, title, unit) {
    print "**" title "**"
    print ""
    print "| server | clients | " unit "/s | server core % | " unit " per server CPU-s | ours ÷ this (per CPU-s) | ours ÷ this (per s) | client core % | load avg | notes |"
    print "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"
    for (i = 1; i <= n; i++) {
        id = order[i]; split(id, f, " ")
        if (f[1] != kind) continue
        k = kind " " f[3]
        r1c = (k in ours && best[id] > 0) ? sprintf("%.2f", ours[k] / best[id]) : "-"
        r1s = (k in ours && rate[id] > 0) ? sprintf("%.2f", oursrate[k] / rate[id]) : "-"
        printf "| %s | %d | %.0f | %.0f | %.0f | %s | %s | %.0f | %s | %s |\n", f[2], f[3], rate[id], core[id], best[id], r1c, r1s, cl[id], load[id], (extra[id] == "-" ? "" : extra[id])
    }
    print ""
}
END {
    if (n) {
        table("ECHO", "echo + ack round trips (20-char string)", "round trips")
        table("BCAST", "broadcast to one room (20-char string)", "deliveries")
    }
    if (m) {
        print "**idle memory per Socket.IO socket**"
        print ""
        print "| server | sockets open | failed | RSS before (MiB) | RSS after (MiB) | KiB per socket | this ÷ ours | load avg |"
        print "|---|---:|---:|---:|---:|---:|---:|---|"
        for (i = 1; i <= m; i++) {
            id = iorder[i]
            ratio = ("ours" in iper && iper["ours"] > 0) ? sprintf("%.1f", iper[id] / iper["ours"]) : "-"
            printf "| %s | %d | %d | %.1f | %.1f | %.2f | %s | %s |\n", id, iopen[id], ifail[id], r0[id] / 1024, r1[id] / 1024, iper[id], ratio, iload[id]
        }
    }
}' "$RESULTS"
rm -f "$RESULTS"
