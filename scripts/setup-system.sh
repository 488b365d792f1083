#!/usr/bin/env bash
# Installs the Debian packages P4-JIT needs, only those missing.
# As root: apt-get directly; otherwise through sudo when it works without a password prompt;
# otherwise stops and prints the exact command to run.
#
# Usage: scripts/setup-system.sh [core|fuzz|gdb|format|vscode|all]...   (default: core)
set -euo pipefail

declare -A GROUP
GROUP[core]="make gcc gcc-riscv64-unknown-elf binutils-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc"
GROUP[fuzz]="clang lld libclang-rt-14-dev"
GROUP[gdb]="gdb-multiarch"
GROUP[format]="clang-format"
GROUP[vscode]="build-essential python3 pkg-config libkrb5-dev ripgrep chromium fonts-liberation"

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(core)
[ "${groups[0]}" = all ] && groups=(core fuzz gdb format vscode)

wanted=()
for g in "${groups[@]}"; do
  [ -n "${GROUP[$g]:-}" ] || { echo "setup-system: unknown group '$g' (core, fuzz, gdb, format, vscode, all)" >&2; exit 2; }
  for p in ${GROUP[$g]}; do wanted+=("$p"); done
done

missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" = 0 ]; then
  run=(bash -c)
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  run=(sudo bash -c)
else
  echo "setup-system: these Debian packages are missing: ${missing[*]}" >&2
  echo "setup-system: install them with:  sudo $cmd" >&2
  exit 1
fi
echo "setup-system: installing ${missing[*]}" >&2
"${run[@]}" "export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends ${missing[*]}" >&2
