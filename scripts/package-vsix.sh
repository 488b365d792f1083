#!/usr/bin/env bash
# Builds the extension package p4-jit-<version>.vsix with @vscode/vsce.
# The bundle carries everything the extension loads (scripts/bundle.mjs), so vsce runs with
# --no-dependencies and .vscodeignore picks the files: the package stays small.
# Usage: scripts/package-vsix.sh [output.vsix]     Prints the path of the package on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

version="$(node -p 'require("./package.json").version')"
out="${1:-p4-jit-$version.vsix}"

node scripts/bundle.mjs --minify >&2

flags=(--no-dependencies --no-update-package-json --no-rewrite-relative-links --allow-missing-repository --out "$out")
[ -f LICENSE ] || flags+=(--skip-license)
npx --no-install vsce package "${flags[@]}" >&2

echo "$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
