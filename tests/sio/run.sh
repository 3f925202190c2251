#!/usr/bin/env bash
# End-to-end tests of a Socket.IO v2 server (fixture kinds eio-echo and sio-e2e) with the real
# socket.io-client 2.5.0 / engine.io-client 3.5.6 in Node, raw HTTP/WebSocket bad input, and
# the socket.io-client browser bundle in headless Chromium (see README.md).
#
# Usage:
#   tests/sio/run.sh --server-cmd 'target/release/fixture {kind} --runtime tokio --listen {listen}'
#   tests/sio/run.sh --server-cmd 'node tests/sio/ref-fixture.js'   # "{kind} --listen {listen}" appended
#   tests/sio/run.sh --ref                                            # the Node reference fixture
#   SIO_SERVER_CMD='...' tests/sio/run.sh
# Options: --suite node|browser|all (default all), --only SUBSTRING (scenario name filter).
# The server command runs from the repository root through /bin/sh; it must print a line
# "... listening on 127.0.0.1:PORT". Installs what is missing (npm ci here, Debian's chromium
# and nodejs/npm); exits non-zero on any failure. Not built here: the Rust fixture binary.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

server="${SIO_SERVER_CMD:-}"
suite=all
only="${ONLY:-}"
while [ $# -gt 0 ]; do
    case "$1" in
        --server-cmd|--server) server="${2:?$1 needs a value}"; shift 2 ;;
        --ref) server="node $here/ref-fixture.js {kind} --listen {listen}"; shift ;;
        --suite) suite="${2:?--suite needs a value}"; shift 2 ;;
        --only) only="${2:?--only needs a value}"; shift 2 ;;
        *) echo "sio tests: unknown argument $1" >&2; exit 2 ;;
    esac
done
if [ -z "$server" ]; then
    echo "sio tests: no server command (--server-cmd CMD, --ref, or SIO_SERVER_CMD)" >&2
    exit 2
fi
case "$suite" in node|browser|all) ;; *) echo "sio tests: --suite node|browser|all" >&2; exit 2 ;; esac

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "sio tests: node/npm missing, installing from Debian" >&2
    apt-get update && apt-get install -y nodejs npm
fi
if [ "$suite" != node ] && [ ! -x /usr/bin/chromium ]; then
    echo "sio tests: /usr/bin/chromium missing, installing from Debian" >&2
    apt-get update && apt-get install -y chromium
fi
# npm ci when node_modules does not match the lockfile (checked by the pinned versions).
installed_ok=1
for pkg in socket.io-client socket.io engine.io-client playwright-core; do
    want="$(node -p "require('$here/package.json').dependencies['$pkg']")"
    have="$(node -p "require('$here/node_modules/$pkg/package.json').version" 2>/dev/null || true)"
    [ "$want" = "$have" ] || installed_ok=0
done
if [ "$installed_ok" != 1 ]; then
    (cd "$here" && npm ci --no-audit --no-fund)
fi

export ONLY="$only"
# The runners kill their servers and Chromium on SIGINT/SIGTERM; then stop here too.
trap 'echo "sio tests: interrupted" >&2; exit 130' INT TERM
status=0
if [ "$suite" != browser ]; then
    echo "=== Socket.IO v2 node suites"
    node "$here/run-node.js" --server "$server" || status=1
fi
if [ "$suite" != node ]; then
    echo "=== Socket.IO v2 browser suite (headless Chromium)"
    node "$here/browser.test.js" --server "$server" || status=1
fi
exit $status
