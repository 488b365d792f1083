#!/usr/bin/env bash
# npm test: installs the Debian packages the tests need (when missing), builds, and runs every suite
# on real parts: the RISC-V compiler, the emulated ESP32-P4 over its pty, Chromium, VS Code.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-system.sh core fuzz gdb vscode
npm run -s build

mapfile -t suites < <(find out/test -name '*.test.js' -not -path 'out/test/vscode/*' | sort)
node --test --test-reporter=spec "${suites[@]}"
