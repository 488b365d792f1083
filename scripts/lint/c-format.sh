#!/usr/bin/env bash
# The firmware's C in one style (.clang-format: ESP-IDF's). `--fix` rewrites the files; without it,
# any file that differs fails with clang-format's own report of where.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v clang-format >/dev/null || { echo "c-format: clang-format is missing: bash scripts/setup-system.sh format" >&2; exit 1; }
mapfile -t files < <(find firmware -name '*.[ch]' -not -path '*/build/*' -not -path '*/managed_components/*' | sort)
if [ "${1:-}" = --fix ]; then
  clang-format -i "${files[@]}"
else
  clang-format --dry-run --Werror "${files[@]}"
fi
