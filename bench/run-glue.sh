#!/usr/bin/env bash
# glue benchmarks, side by side in one run (server on core $SERVER_CORE, load on $CLIENT_CORE):
#
#   1. glue echo over WebSocket vs raw WebSocket echo of the same runtime, same generator
#      (echo_load; --glue sends `cd1&mecho:<payload>` and expects `cd1&m<payload>`):
#      messages per server CPU-second and the cost ratio glue / raw (goal <= 1.2).
#   2. glue over AjaxSocket: closed-loop round trips (push + held poll) per server CPU-second
#      (ajax_load).
#   3. idle memory per glue socket at $CONNS sockets (WebSocket, init done, welcome read).
#
#   bench/run-glue.sh
#
# Environment: DURATION (8), WARMUP (2), REPEAT (1; the best of n runs is shown), CASES
# ("100x20 10x1024"), AJAX_SESSIONS ("20 100"), CONNS (10000), RUNTIMES ("tokio std"),
# FIXTURE (../target/release/fixture), NO_BUILD=1, SKIP ("" or e.g. "idle").
set -euo pipefail
source "$(dirname "$0")/common.sh"

DURATION=${DURATION:-8}
WARMUP=${WARMUP:-2}
REPEAT=${REPEAT:-1}
CASES=${CASES:-"100x20 10x1024"}
AJAX_SESSIONS=${AJAX_SESSIONS:-"20 100"}
CONNS=${CONNS:-10000}
RUNTIMES=${RUNTIMES:-"tokio std"}
SKIP=${SKIP:-}
WWW=$(mktemp -d)
echo '<!doctype html><title>bench</title>' >"$WWW/index.html"
build_bench_bins
BIN=$HERE/target/release
RESULTS=$(mktemp)
port=$((BASE_PORT + 200))

glue_cmd() { echo "$FIXTURE glue-echo --runtime $1 --listen {addr} --static $WWW"; }

# ---------------------------------------------------------------- 1. echo
if [[ " $SKIP " != *" echo "* ]]; then
  for rep in $(seq 1 "$REPEAT"); do
    for rt in $RUNTIMES; do
      specs=("raw-$rt|$FIXTURE ws-echo --runtime $rt --listen {addr}||/" "glue-$rt|$(glue_cmd "$rt")|--glue|/glue/ws")
      [[ $rt == tokio ]] && specs+=("glue-tokio-handler|$BIN/glue_handler_echo --listen {addr}|--glue|/glue/ws")
      for spec in "${specs[@]}"; do
        IFS='|' read -r name cmd flag path <<<"$spec"
        port=$((port + 1))
        start_server "$name" "$cmd" "$port"
        for case in $CASES; do
          conns=${case%x*} size=${case#*x}
          out=$(taskset -c "$CLIENT_CORE" "$BIN/echo_load" --url "ws://127.0.0.1:$port$path" $flag \
              --conns "$conns" --size "$size" --duration "$DURATION" --warmup "$WARMUP" \
              --server-pid "$SERVER_PID" --label "$name") || { echo "$out" >&2; continue; }
          echo "$out" | grep -v '^RESULT' >&2
          echo "$out" | grep '^RESULT' | sed "s/^RESULT/ECHO $rt/" >>"$RESULTS"
        done
        stop_server
      done
    done
  done
fi

# ---------------------------------------------------------------- 2. AjaxSocket
if [[ " $SKIP " != *" ajax "* ]]; then
  for rep in $(seq 1 "$REPEAT"); do
    for rt in $RUNTIMES; do
      port=$((port + 1))
      start_server "glue-$rt" "$(glue_cmd "$rt")" "$port"
      for n in $AJAX_SESSIONS; do
        out=$(taskset -c "$CLIENT_CORE" "$BIN/ajax_load" --url "http://127.0.0.1:$port/glue/ajax" \
            --sessions "$n" --size 20 --duration "$DURATION" --warmup "$WARMUP" \
            --server-pid "$SERVER_PID" --label "glue-$rt") || { echo "$out" >&2; continue; }
        echo "$out" | grep -v '^RESULT' >&2
        echo "$out" | grep '^RESULT' | sed 's/^RESULT/AJAX/' >>"$RESULTS"
      done
      stop_server
    done
  done
fi

# ---------------------------------------------------------------- 3. idle memory
if [[ " $SKIP " != *" idle "* ]]; then
  specs=()
  for rt in $RUNTIMES; do specs+=("glue-$rt|$(glue_cmd "$rt")"); done
  [[ " $RUNTIMES " == *" tokio "* ]] && specs+=("glue-tokio-handler|$BIN/glue_handler_echo --listen {addr}")
  for spec in "${specs[@]}"; do
    IFS='|' read -r name cmd <<<"$spec"
    port=$((port + 1))
    start_server "$name" "$cmd" "$port"
    sleep 1
    out=$(taskset -c "$CLIENT_CORE" "$BIN/idle_conns" --url "ws://127.0.0.1:$port/glue/ws" --glue \
        --server-pid "$SERVER_PID" --conns "$CONNS" --source-ips 4 --settle 3 --label "$name") \
        || echo "idle_conns reported errors for $name" >&2
    echo "$out" | grep -v '^RESULT' >&2
    echo "$out" | grep '^RESULT' | sed 's/^RESULT/IDLE/' >>"$RESULTS" || true
    stop_server
    sleep 1
  done
fi

# ECHO rt label conns size msgs secs rate cpu per_cpu client_cpu
# AJAX label sessions size n secs rate cpu per_cpu client_cpu
# IDLE label open rss0 rss1 per failed
awk '
function hsize(b) { return b >= 1024 ? (b / 1024) " KiB" : b " B" }
$1 == "ECHO" {
    id = $3 " " $4 "x" $5
    if (!(id in best) || $10 > best[id]) { if (!(id in best)) order[++n] = id; best[id] = $10; rt[id] = $2; c[id] = $4; s[id] = $5 }
    if ($3 ~ /^raw-/) { key = $2 " " $4 "x" $5; if (!(key in raw) || $10 > raw[key]) raw[key] = $10 }
}
$1 == "AJAX" {
    id = $2 " " $3
    if (!(id in abest) || $9 > abest[id]) { if (!(id in abest)) aorder[++an] = id; abest[id] = $9; arate[id] = $7 }
}
$1 == "IDLE" { in_++; idle[in_] = $0 }
END {
    if (n) {
        print "| server | case | msgs per server CPU-s | cost vs raw WebSocket echo (same runtime) |"
        print "|---|---|---:|---:|"
        for (i = 1; i <= n; i++) {
            id = order[i]; split(id, f, " ")
            key = rt[id] " " c[id] "x" s[id]
            ratio = (key in raw && best[id] > 0) ? sprintf("%.2f", raw[key] / best[id]) : "-"
            printf "| %s | %d conns x %s | %.0f | %s |\n", f[1], c[id], hsize(s[id]), best[id], ratio
        }
        print ""
    }
    if (an) {
        print "| server | sessions | round trips/s | round trips per server CPU-s |"
        print "|---|---:|---:|---:|"
        for (i = 1; i <= an; i++) { split(aorder[i], f, " "); printf "| %s | %d | %.0f | %.0f |\n", f[1], f[2], arate[aorder[i]], abest[aorder[i]] }
        print ""
    }
    if (in_) {
        print "| server | glue sockets open | failed | KiB per socket |"
        print "|---|---:|---:|---:|"
        for (i = 1; i <= in_; i++) { split(idle[i], f, " "); printf "| %s | %d | %d | %.2f |\n", f[2], f[3], f[7], f[6] }
    }
}' "$RESULTS"
rm -rf "$RESULTS" "$WWW"
