#!/usr/bin/env bash
# Builds every fuzz target and runs each one, one after another, for SECONDS (default 20)
# starting from the committed seeds in fuzz/seeds/<target>/. Fails on the first crash, leak,
# timeout or out-of-memory (the reproducer lands in fuzz/artifacts/<target>/).
#
#   fuzz/smoke.sh [SECONDS]
#
# Needs cargo-fuzz (0.13) and a C++ compiler; only stable Rust is assumed, so the nightly
# flags cargo-fuzz passes are unlocked with RUSTC_BOOTSTRAP=1.
set -euo pipefail

secs="${1:-20}"
case "$secs" in
    '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac

cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1

targets=(http_request http_response ws_frame_server ws_frame_client ws_handshake ws_ops glue_messages glue_server_ops glue_client_ops eio_payloads eio_client_ops sio_packet sio_binary eio_session_ops sio_client_ops)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "smoke.sh: cargo-fuzz is not installed (cargo install cargo-fuzz --version ^0.13)" >&2
    exit 1
fi

echo "== building ${#targets[@]} fuzz targets"
cargo fuzz build

# A scratch corpus per run, so CI starts from the seeds alone and leaves nothing behind.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

failed=()
for t in "${targets[@]}"; do
    case "$t" in
        # Frames over the 4 KiB unmasking block and the 64 KiB frame limit need room.
        ws_frame_*) max_len=16384 ;;
        *) max_len=4096 ;;
    esac
    mkdir -p "$work/$t"
    echo "== $t: ${secs}s"
    # -rss_limit_mb: a target that holds more than this is a memory bug (inputs are small).
    # -timeout: one input taking 10 s is a hang.
    if cargo fuzz run "$t" "$work/$t" "seeds/$t" -- \
        -max_total_time="$secs" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$work/$t.log" 2>&1; then
        grep -E '^#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::average_exec_per_sec' \
            "$work/$t.log" || true
    else
        echo "!! $t FAILED; last lines of its log:"
        tail -n 60 "$work/$t.log"
        failed+=("$t")
    fi
done

if [ "${#failed[@]}" -ne 0 ]; then
    echo "fuzz smoke: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz smoke: all ${#targets[@]} targets ran ${secs}s without a crash"
