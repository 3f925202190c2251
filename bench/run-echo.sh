#!/usr/bin/env bash
# Closed-loop echo throughput per server CPU-second.
#
#   bench/run-echo.sh                      # default servers (see below)
#   bench/run-echo.sh NAME=COMMAND ...     # any servers; {addr} in COMMAND -> 127.0.0.1:PORT
#
# Each server runs pinned to core $SERVER_CORE (0), the load generator to $CLIENT_CORE (1).
# For every case the load runs $WARMUP s, then the measured window of $DURATION s; the load
# generator reads the server's utime+stime from /proc/PID/stat at both ends of the window.
# The ratio column is msgs per server CPU-second divided by the first server's (by default
# fastwebsockets).
#
# With REPEAT=n the whole sequence (every server, every case) runs n times, interleaved so
# that background load on a shared machine falls on all servers alike; the table shows the
# run with the most msgs per server CPU-second (other load only ever lowers it) and the
# lowest-highest range over the n runs.
#
# Environment: DURATION (10), WARMUP (3), CASES ("100x20 10x1024 200x16384": conns x bytes),
# REPEAT (1), SERVERS (names for the default list), FIXTURE (../target/release/fixture),
# NO_BUILD=1.
set -euo pipefail
source "$(dirname "$0")/common.sh"

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
CASES=${CASES:-"100x20 10x1024 200x16384"}
REPEAT=${REPEAT:-1}
SERVERS=${SERVERS:-"fastwebsockets tokio-tungstenite tokio-tungstenite-4k glue-tokio glue-std node-ws"}

specs=("$@")
if [[ ${#specs[@]} -eq 0 ]]; then
    for s in $SERVERS; do
        if server_available "$s"; then specs+=("$(server_spec "$s")"); else echo "skipping $s (not available)" >&2; fi
    done
fi
build_bench_bins
LOAD=$HERE/target/release/echo_load
RESULTS=$(mktemp)

port=$BASE_PORT
for rep in $(seq 1 "$REPEAT"); do
  for spec in "${specs[@]}"; do
    name=${spec%%=*} cmd=${spec#*=}
    port=$((port + 1))
    start_server "$name" "$cmd" "$port"
    echo "== $name (pid $SERVER_PID, run $rep of $REPEAT): $cmd" >&2
    for case in $CASES; do
        conns=${case%x*} size=${case#*x}
        out=$(taskset -c "$CLIENT_CORE" "$LOAD" --url "ws://127.0.0.1:$port/" --conns "$conns" \
            --size "$size" --duration "$DURATION" --warmup "$WARMUP" --server-pid "$SERVER_PID" \
            --label "$name") || { echo "$out" >&2; echo "load failed for $name $case" >&2; continue; }
        echo "$out" | grep -v '^RESULT' >&2
        echo "$out" | grep '^RESULT' >>"$RESULTS"
    done
    stop_server
  done
done

# RESULT label conns size msgs secs rate cpu per_cpu client_cpu
awk '
function hsize(b) { return b >= 1024 ? (b / 1024) " KiB" : b " B" }
$1 == "RESULT" {
    key = $3 "x" $4
    if (refname == "") refname = $2
    if ($2 == refname && (!(key in ref) || $9 > ref[key])) ref[key] = $9
    id = $2 " " key
    if (!(id in best)) { n++; order[n] = id; best[id] = $0; lo[id] = $9; hi[id] = $9 }
    else { split(best[id], b, " "); if ($9 > b[9]) best[id] = $0 }
    if ($9 < lo[id]) lo[id] = $9
    if ($9 > hi[id]) hi[id] = $9
}
END {
    print "| server | case | msg/s | msgs in window | server CPU s | server core % | msgs per server CPU-s | range over runs | ratio vs " ref_name() " | client core % |"
    print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for (i = 1; i <= n; i++) {
        id = order[i]
        split(best[id], f, " ")
        key = f[3] "x" f[4]
        printf "| %s | %d conns x %s | %.0f | %d | %.2f | %.0f | %.0f | %.0f-%.0f | %.2f | %.0f |\n", \
            f[2], f[3], hsize(f[4]), f[7], f[5], f[8], 100 * f[8] / f[6], f[9], lo[id], hi[id], f[9] / ref[key], 100 * f[10] / f[6]
    }
}
function ref_name() { return refname }
' "$RESULTS"
rm -f "$RESULTS"
