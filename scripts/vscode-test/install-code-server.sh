#!/usr/bin/env bash
# Installs code-server (a full VS Code: server + web workbench + the ordinary Node extension host)
# into the repository's cache folder .vscode-test/, so the extension's integration tests can run in
# a real VS Code without downloading a desktop build. A second run is a no-op.
#
# Everything the install writes (npm cache, node-gyp headers, temp files, XDG folders) stays inside
# .vscode-test/ so nothing lands in $HOME.
#
# Usage: scripts/vscode-test/install-code-server.sh
# Env:   CODE_SERVER_VERSION (default 4.100.3: runs on Node 20)
#        VSCODE_TEST_CACHE   (default <repo>/.vscode-test)
# Prints the path of the installed code-server entry script on stdout.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
version="${CODE_SERVER_VERSION:-4.100.3}"
cache="${VSCODE_TEST_CACHE:-$root/.vscode-test}"
prefix="$cache/code-server-$version"
entry="$prefix/node_modules/code-server/out/node/entry.js"
marker="$prefix/.installed"

# Fast path: installed before and the browser that drives it is still there.
if [ -f "$marker" ] && [ -f "$entry" ] && [ -x /usr/bin/chromium ]; then
  echo "$entry"
  exit 0
fi

log() { echo "install-code-server: $*" >&2; }
started=$(date +%s)

# Compilers for the native modules (node-pty, argon2, kerberos), Debian's ripgrep (seeded below
# instead of a GitHub download) and the headless browser.
bash "$root/scripts/setup-system.sh" vscode

# code-server 4.x pins the Node major it was built for; its postinstall refuses any other.
node_major="$(node -p 'process.versions.node.split(".")[0]')"
case "$version" in
  4.100.*) want_major=20 ;;
  *) want_major="" ;;
esac
if [ -n "$want_major" ] && [ "$node_major" != "$want_major" ]; then
  log "code-server $version needs Node $want_major, this is Node $node_major (set CODE_SERVER_VERSION)"
  exit 1
fi

mkdir -p "$prefix" "$cache/tmp" "$cache/npm-cache" "$cache/xdg/config" "$cache/xdg/data" "$cache/xdg/cache"
export TMPDIR="$cache/tmp"
export XDG_CONFIG_HOME="$cache/xdg/config" XDG_DATA_HOME="$cache/xdg/data" XDG_CACHE_HOME="$cache/xdg/cache"
export npm_config_cache="$cache/npm-cache"
export npm_config_devdir="$cache/xdg/cache/node-gyp"  # node-gyp's header cache
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
export npm_config_yes=true            # node-pty's postinstall runs `npx node-gyp`
export npm_config_unsafe_perm=true    # lifecycle scripts keep running as root
# Build native modules against the installed Node's headers instead of downloading them.
node_prefix="$(dirname "$(dirname "$(command -v node)")")"
if [ -f "$node_prefix/include/node/node.h" ]; then
  export npm_config_nodedir="$node_prefix"
fi

# @vscode/ripgrep's postinstall downloads rg from GitHub unless its cache (under the temp dir)
# already holds the release asset: seed it with a tarball of Debian's rg.
seed_ripgrep() { # <@vscode/ripgrep version> <asset name>
  local dir="$TMPDIR/vscode-ripgrep-cache-$1" rg
  [ -f "$dir/$2" ] && return 0
  rg="$(command -v rg)" || { log "ripgrep (rg) is not installed"; exit 1; }
  mkdir -p "$dir/stage"
  cp "$rg" "$dir/stage/rg"
  tar -C "$dir/stage" -czf "$dir/$2" rg
  rm -rf "$dir/stage"
}
case "$version" in
  4.100.*) seed_ripgrep 1.15.11 ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz ;;
esac

log "installing code-server@$version into $prefix (about a minute; native modules compile from source)"
cd "$prefix"
[ -f package.json ] || echo '{ "private": true, "description": "VS Code test host cache" }' > package.json
npm install --save-exact --loglevel=error "code-server@$version" >&2

# Prove it starts before declaring the install done.
# (--version may first log that it wrote a default config file: pick the version line.)
installed="$(node "$entry" --version | grep -m 1 "^$version " || true)"
if [ -z "$installed" ]; then
  log "code-server did not report version $version"
  exit 1
fi
echo "$version" > "$marker"
log "code-server $installed ready in $(( $(date +%s) - started )) s"
echo "$entry"
