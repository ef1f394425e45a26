#!/usr/bin/env bash
# brender's main job on one machine: a server, a worker, and a small Cycles animation rendered
# by real Blender, with its progress, where the frames are, and an MP4 made of them by ffmpeg.
# Give a .blend (and a frame spec; default: the scene's own range) to render your own scene
# instead:   scripts/demo.sh shot.blend 1-48
# Everything lives in ./brender-demo; the server and worker stop when the script ends.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --static-swift-stdlib --product brender >&2
brender="$PWD/.build/release/brender"
demo="$PWD/brender-demo"
# Each run starts a fresh farm (the scene made before is kept).
rm -rf "$demo/data" "$demo/renders" "$demo/worker"
mkdir -p "$demo"

cleanup() {
    [ -n "${worker:-}" ] && kill -TERM "$worker" 2>/dev/null && wait "$worker" 2>/dev/null || true
    [ -n "${server:-}" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
}
trap cleanup EXIT

scene="${1:-}"
frames="${2:-}"
if [ -z "$scene" ]; then
    scene="$demo/demo.blend"
    echo "making a 24-frame demo scene with Blender: $scene"
    "$brender" demo-scene "$scene" --frames 24 --size 160x120 --samples 16 >/dev/null
fi

"$brender" server --listen 127.0.0.1:0 --data "$demo/data" >"$demo/server.out" 2>"$demo/server.log" &
server=$!
for _ in $(seq 1 100); do
    grep -q "listening on" "$demo/server.out" 2>/dev/null && break
    sleep 0.1
done
export BRENDER_SERVER=$(grep -o 'http://[0-9.]*:[0-9]*' "$demo/server.out")
# The server made its admin and join tokens in its data directory; the commands and the worker
# below read them from there (BRENDER_DATA), as an admin on the server machine needs no setup.
export BRENDER_DATA="$demo/data"
echo "server: $BRENDER_SERVER (data and logs in $demo)"
echo "dashboard: $BRENDER_SERVER/ in a browser on this machine; sign in with the admin token $("$brender" server token show --data "$demo/data" | awk '$1 == "admin" {print $2}')"

"$brender" worker --name "$(hostname -s 2>/dev/null || echo demo)-worker" --state-dir "$demo/worker" 2>"$demo/worker.log" &
worker=$!
"$brender" client list

# Without --frames, the scene's own frame range is read with Blender; --video adds a last task
# that encodes the frames once all are rendered.
"$brender" job submit "$scene" ${frames:+--frames "$frames"} --chunk 4 --video "$demo/renders/job-1.mp4" --wait
"$brender" task list --job 1
"$brender" job show 1 | grep -E '^(status|frames|settings_from|video):'
echo "frames: $(ls "$demo"/renders/1-*/ | head -3 | tr '\n' ' ')... in $(ls -d "$demo"/renders/1-*)"
echo "video: $demo/renders/job-1.mp4"
# On a terminal, the farm stays up for a look at the dashboard until Enter is pressed.
if [ -t 0 ] && [ -t 1 ]; then
    read -r -p "the farm and its dashboard ($BRENDER_SERVER/) stay up until you press Enter " _ || true
fi
