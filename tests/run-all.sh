#!/usr/bin/env bash
# Runs every test of glue-rs on a fresh machine, installing what the tests need:
#   formatting, clippy (-D warnings), unit/property/integration tests, the Autobahn suite
#   (cases 1–10, server and client of both runtimes, diffed against tests/autobahn/expected),
#   headless Chromium end-to-end tests of the glue browser client against both runtimes
#   (installs Debian's chromium and the pinned npm playwright-core), the Socket.IO v2 suites
#   (tests/sio: real socket.io-client 2.5.0 in Node and Chromium, raw bad input), the GOSF-style
#   framework suite (tests/gosf), a fuzz smoke run of every target, and a build check of the benchmarks.
# Usage: tests/run-all.sh            (FUZZ_SECONDS=20 by default; 0 skips nothing, it is the
#                                      per-target time)
# A missing tool is installed, never skipped; any failure fails the run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
fuzz_seconds=${FUZZ_SECONDS:-20}
step() { printf '\n=== %s (%s)\n' "$1" "$(date +%T)"; }

step "toolchain"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
cargo --version
command -v python3 >/dev/null || { echo "python3 is required"; exit 1; }
if ! command -v cargo-fuzz >/dev/null; then
  cargo install cargo-fuzz --locked --quiet
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "npm packages for the Socket.IO peers (tests/sio: socket.io-client 2.5.0, socket.io 2.5.1)"
command -v node >/dev/null || { apt-get update && apt-get install -y nodejs npm; }
(cd tests/sio && npm ci --no-audit --no-fund)

step "cargo test"
cargo test --workspace --locked

step "autobahn (1-10, both roles, both runtimes)"
cargo build --release --locked -p glue-tests --bin fixture
tests/autobahn/run.sh

step "browser end-to-end (headless Chromium, js/glue.js, both runtimes)"
tests/browser/run.sh

for rt in tokio std; do
  step "socket.io v2 end-to-end ($rt: node socket.io-client 2.5.0, engine.io-client, raw HTTP/WS, Chromium)"
  tests/sio/run.sh --server-cmd "target/release/fixture {kind} --runtime $rt --listen {listen}"
  step "socket.io v2: our Rust clients (tokio, std) against our $rt server"
  SIO_SERVER_CMD="target/release/fixture {kind} --runtime $rt --listen {listen}" \
    cargo test --locked -p glue-tokio --test sio_client -p glue-std --test sio_client
  step "gosf-style framework ($rt: node socket.io-client 2.5.0 against fixture gosf-demo; microservices to gosf-demo and node socket.io 2.5.1)"
  tests/gosf/run.sh --server-cmd "target/release/fixture {kind} --runtime $rt --listen {listen}"
done

step "fuzz smoke (${fuzz_seconds}s per target)"
fuzz/smoke.sh "$fuzz_seconds"

step "benchmarks build"
cargo check --manifest-path bench/Cargo.toml --all-targets --locked

step "all tests passed"
