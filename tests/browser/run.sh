#!/usr/bin/env bash
# Chromium end-to-end tests of js/glue.js and the glue servers (see README.md).
# Installs what is missing (npm packages, Debian's chromium), expects the fixture
# binary at ${FIXTURE:-target/release/fixture} (relative to the repo root; not built
# here) and exits non-zero on any failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

export FIXTURE="${FIXTURE:-target/release/fixture}"
case "$FIXTURE" in /*) ;; *) FIXTURE="$root/$FIXTURE" ;; esac
if [ ! -x "$FIXTURE" ]; then
    echo "browser tests: fixture binary missing: $FIXTURE" >&2
    echo "  build it with: cargo build --release -p glue-tests --bin fixture" >&2
    exit 1
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "browser tests: node/npm missing, installing from Debian" >&2
    apt-get update && apt-get install -y nodejs npm
fi
if [ ! -x /usr/bin/chromium ]; then
    echo "browser tests: /usr/bin/chromium missing, installing from Debian" >&2
    apt-get update && apt-get install -y chromium
fi
want="$(node -p "require('$here/package.json').dependencies['playwright-core']")"
have="$(node -p "require('$here/node_modules/playwright-core/package.json').version" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
    (cd "$here" && npm ci --no-audit --no-fund)
fi

exec node "$here/run.mjs"
