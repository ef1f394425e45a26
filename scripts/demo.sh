#!/usr/bin/env bash
# brender's main job on one machine: a server, a worker, and the farm listed.
# Everything lives in ./brender-demo and stops when the script ends.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product brender >&2
brender="$PWD/.build/release/brender"
demo="$PWD/brender-demo"
mkdir -p "$demo"

cleanup() {
    [ -n "${worker:-}" ] && kill -TERM "$worker" 2>/dev/null && wait "$worker" 2>/dev/null || true
    [ -n "${server:-}" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
}
trap cleanup EXIT

"$brender" server --listen 127.0.0.1:0 --data "$demo/data" >"$demo/server.out" 2>"$demo/server.log" &
server=$!
for _ in $(seq 1 100); do
    grep -q "listening on" "$demo/server.out" 2>/dev/null && break
    sleep 0.1
done
export BRENDER_SERVER=$(grep -o 'http://[0-9.]*:[0-9]*' "$demo/server.out")
echo "server: $BRENDER_SERVER (data in $demo/data, log in $demo/server.log)"

"$brender" worker --name demo-worker 2>"$demo/worker.log" &
worker=$!
for _ in $(seq 1 100); do
    "$brender" client list --filter name=demo-worker --filter connection=online 2>/dev/null | grep -q demo-worker && break
    sleep 0.1
done
"$brender" client list
