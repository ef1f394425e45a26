#!/usr/bin/env bash
# Writes the generated files that are committed: the shell completions in completions/ and the
# manual pages in man/, from the command tree of the brender just built. The test suite fails
# when they are out of date; run this after changing a command, an option or a page's prose.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --product brender >&2
brender=.build/debug/brender
"$brender" completions bash > completions/brender.bash
"$brender" completions zsh > completions/_brender
"$brender" completions fish > completions/brender.fish
rm -f man/*.1
"$brender" man --output man
echo "wrote completions/ and man/" >&2
