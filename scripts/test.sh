#!/usr/bin/env bash
# npm test: installs the Debian packages the tests need (when missing), builds, and runs every suite
# on real parts: the RISC-V compiler, the emulated ESP32-P4 over its pty, Chromium, VS Code.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-system.sh core fuzz gdb format vscode
npm run -s build
status=0
# the layering and the lint rules first: a wrong import fails the run; then the C style
npx eslint . || status=$?
bash scripts/lint/c-format.sh || status=$?

# plain Node suites (the VS Code suite imports `vscode` and runs inside VS Code below)
mapfile -t suites < <(find out/test -name '*.test.js' -not -path 'out/test/vscode/suite/*' | sort)
node --test --test-reporter=spec "${suites[@]}" || status=$?

# the extension inside a real VS Code (code-server + headless Chromium), then the packaged .vsix
bash scripts/test-vscode.sh --no-build || status=$?
exit "$status"
