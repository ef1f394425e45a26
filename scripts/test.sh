#!/usr/bin/env bash
# Runs brender's whole test suite: unit tests, and integration tests that start real
# brender server and worker processes on 127.0.0.1 and render with real Blender.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --build-tests
swift test --skip-build --disable-xctest "$@"
