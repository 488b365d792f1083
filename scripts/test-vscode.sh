#!/usr/bin/env bash
# The extension's integration tests inside a real VS Code (code-server + headless Chromium), on the
# emulated ESP32-P4: first the suite against the development folder, then the packaged .vsix
# installed into a code-server of its own.
#
# Usage: scripts/test-vscode.sh [--no-build] [--grep TEXT] [--no-vsix]
#   --no-build  the caller already ran `npm run build` (tsc, bundle, firmware)
set -euo pipefail
cd "$(dirname "$0")/.."

build=1 vsix=1 grep=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --no-vsix) vsix=0 ;;
    --grep) grep=(--grep "$2"); shift ;;
    *) echo "test-vscode: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

# code-server and its Debian packages (a no-op once installed).
bash scripts/vscode-test/install-code-server.sh >/dev/null

if [ "$build" = 1 ]; then
  npx tsc -p .
  node scripts/bundle.mjs
fi

# The tests write into their workspace (scratch files, the chosen port): give them a copy.
work="$(mktemp -d "${TMPDIR:-/tmp}/p4jit-vscode-XXXXXX")"
trap 'rm -rf "$work"' EXIT
cp -r test/vscode/workspace "$work/workspace"

status=0
node out/test/vscode/harness/run-code-server.js --extension . --tests out/test/vscode/suite/index.js \
  --workspace "$work/workspace" --timeout 1500 "${grep[@]}" || status=$?

if [ "$vsix" = 1 ] && [ "${#grep[@]}" = 0 ]; then
  bash scripts/package-vsix.sh "$work/p4-jit.vsix" >/dev/null
  mkdir -p "$work/vsix-workspace"
  node out/test/vscode/suite/vsix/run-vsix.js --vsix "$work/p4-jit.vsix" --workspace "$work/vsix-workspace" || status=$?
fi
exit "$status"
