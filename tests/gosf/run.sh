#!/usr/bin/env bash
# Runs the GOSF-style framework suite (tests/gosf/gosf.test.js, real socket.io-client 2.5.0)
# against `fixture gosf-demo`. Installs tests/sio's pinned npm packages if missing; does not
# build the fixture.
#   tests/gosf/run.sh --server-cmd 'target/release/fixture {kind} --runtime tokio --listen {listen}' [--only NAME]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null || { apt-get update && apt-get install -y nodejs npm; }
[ -d "$here/../sio/node_modules/socket.io-client" ] || (cd "$here/../sio" && npm ci --no-audit --no-fund)
exec node "$here/run.js" "$@"
