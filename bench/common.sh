# Shared by run-echo.sh and run-idle.sh (source it; not a standalone script).
# Server specs are "NAME=COMMAND"; COMMAND's {addr} is replaced by 127.0.0.1:PORT.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FIXTURE=${FIXTURE:-$HERE/../target/release/fixture}
SERVER_CORE=${SERVER_CORE:-0}
CLIENT_CORE=${CLIENT_CORE:-1}
BASE_PORT=${BASE_PORT:-19300}
LOGDIR=${LOGDIR:-$HERE/target/bench-logs}
mkdir -p "$LOGDIR"

# Open-files limit: raise the soft limit to the hard one for this shell and its children.
ulimit -n "$(ulimit -Hn)"

build_bench_bins() {
    if [[ "${NO_BUILD:-0}" != 1 ]]; then
        (cd "$HERE" && cargo build --release --bins --quiet)
    fi
}

# Every server known here, in the order given by $1 (a space-separated list of names).
server_spec() {
    case "$1" in
    fastwebsockets) echo "fastwebsockets=$HERE/target/release/fws_echo --listen {addr}" ;;
    tokio-tungstenite) echo "tokio-tungstenite=$HERE/target/release/tt_echo --listen {addr}" ;;
    tokio-tungstenite-4k) echo "tokio-tungstenite-4k=$HERE/target/release/tt_echo --read-buffer-size 4096 --listen {addr}" ;;
    glue-tokio) echo "glue-tokio=$FIXTURE ws-echo --runtime tokio --listen {addr}" ;;
    glue-std) echo "glue-std=$FIXTURE ws-echo --runtime std --listen {addr}" ;;
    node-ws) echo "node-ws=node $HERE/ws-echo.js --listen {addr}" ;;
    *) echo "unknown server $1" >&2; return 1 ;;
    esac
}

# Whether a default server can run here (ours needs the fixture built in the main workspace,
# Node's needs `npm install` in bench/).
server_available() {
    case "$1" in
    glue-*) [[ -x "$FIXTURE" ]] ;;
    node-ws) [[ -d "$HERE/node_modules/ws" ]] && command -v node >/dev/null ;;
    *) true ;;
    esac
}

# start_server NAME COMMAND PORT: starts it pinned to $SERVER_CORE; sets SERVER_PID (the
# process that listens on PORT, found with ss, so wrappers such as `cargo run` work too) and
# SERVER_JOB (the started process).
start_server() {
    local name=$1 cmd=${2//\{addr\}/127.0.0.1:$3} port=$3
    if ss -Hltn "sport = :$port" | grep -q .; then
        echo "port $port is already in use" >&2
        return 1
    fi
    taskset -c "$SERVER_CORE" bash -c "exec $cmd" >"$LOGDIR/$name.log" 2>&1 &
    SERVER_JOB=$!
    SERVER_PID=
    for _ in $(seq 1 600); do
        SERVER_PID=$(ss -Hltnp "sport = :$port" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2 || true)
        [[ -n "$SERVER_PID" ]] && break
        if ! kill -0 "$SERVER_JOB" 2>/dev/null; then
            echo "server $name exited; log:" >&2
            cat "$LOGDIR/$name.log" >&2
            return 1
        fi
        sleep 0.1
    done
    if [[ -z "$SERVER_PID" ]]; then
        echo "server $name did not listen on $port" >&2
        return 1
    fi
}

stop_server() {
    kill "$SERVER_JOB" 2>/dev/null || true
    [[ -n "$SERVER_PID" && "$SERVER_PID" != "$SERVER_JOB" ]] && kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_JOB" 2>/dev/null || true
    SERVER_JOB= SERVER_PID=
}

trap 'stop_server' EXIT
trap 'stop_server; exit 130' INT TERM
