#!/usr/bin/env bash
# Runs every test of glue-rs on a fresh machine, installing what the tests need:
#   formatting, clippy (-D warnings), unit/property/integration tests, the Autobahn suite
#   (cases 1–10, server and client of both runtimes, diffed against tests/autobahn/expected),
#   headless Chromium end-to-end tests of the glue browser client against both runtimes
#   (installs Debian's chromium and the pinned npm playwright-core), a fuzz smoke run of every target, and a build check of the benchmarks.
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

step "cargo test"
cargo test --workspace --locked

step "autobahn (1-10, both roles, both runtimes)"
cargo build --release --locked -p glue-tests --bin fixture
tests/autobahn/run.sh

step "browser end-to-end (headless Chromium, js/glue.js, both runtimes)"
tests/browser/run.sh

step "fuzz smoke (${fuzz_seconds}s per target)"
fuzz/smoke.sh "$fuzz_seconds"

step "benchmarks build"
cargo check --manifest-path bench/Cargo.toml --all-targets --locked

step "all tests passed"
