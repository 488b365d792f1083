#!/usr/bin/env bash
# Compile-and-link check of the p4_jit ESP-IDF component: builds firmware/example for the ESP32-P4
# with an installed ESP-IDF (5.4 or later). No board is needed and nothing is written into the
# source tree (the build runs on a copy in a temporary directory).
#
#   . "$IDF_PATH/export.sh"              # once per shell: idf.py and riscv32-esp-elf-gcc on PATH
#   firmware/check-espidf.sh             # KEEP=1 keeps the build directory and prints its path
#
# The IDF Component Manager downloads espressif/esp_tinyusb (network access on the first run).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
command -v idf.py >/dev/null 2>&1 || {
    echo "check-espidf: idf.py not found: run '. \"\$IDF_PATH/export.sh\"' first" >&2
    exit 2
}

work=$(mktemp -d "${TMPDIR:-/tmp}/p4jit-espidf.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
    echo "check-espidf: build in $work"
else
    trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work/components"
cp -r "$here/example" "$work/example"
cp -r "$here/components/p4_jit" "$work/components/p4_jit"

cd "$work/example"
idf.py set-target esp32p4
idf.py build
echo "check-espidf: firmware/example built with $(idf.py --version 2>/dev/null || echo ESP-IDF)"
