#!/usr/bin/env bash
# Runs the Autobahn suite (cases 1–10) against the fixture: server and client roles of both
# runtimes, then compares every case's result with tests/autobahn/expected/*.json, so a
# regression (or a new FAILED) fails. Usage: tests/autobahn/run.sh [--update]
# Needs the release fixture: cargo build --release -p glue-tests --bin fixture
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
tools=$root/../shared/tools/autobahn
fixture=$root/target/release/fixture
cases="1.*,2.*,3.*,4.*,5.*,6.*,7.*,8.*,9.*,10.*"
out=$root/target/autobahn
update=${1:-}
[[ -x $fixture ]] || { echo "missing $fixture (cargo build --release -p glue-tests --bin fixture)"; exit 1; }
status=0
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

for rt in tokio std; do
  port=$(free_port)
  "$fixture" ws-echo --runtime "$rt" --listen "127.0.0.1:$port" >"$out-echo-$rt.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
  echo "== autobahn: $rt server"
  "$tools/test-server.sh" "ws://127.0.0.1:$port" "$cases" "$out/server-$rt" | tail -n 2 || status=1
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true

  echo "== autobahn: $rt client"
  port=$(free_port)
  "$tools/test-client.sh" "$port" "$cases" "$out/client-$rt" -- "$fixture" autobahn-client --runtime "$rt" \
    | tail -n 2 || status=1
done

for run in server-tokio server-std client-tokio client-std; do
  python3 "$root/tests/autobahn/compare.py" "$out/$run/index.json" "$root/tests/autobahn/expected/$run.json" $update \
    || status=1
done
exit $status
