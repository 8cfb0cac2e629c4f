#!/usr/bin/env bash
# Installs what Estafette needs and is missing; skips whatever is already there.
#   scripts/setup.sh build   tools to build the app and the relay
#   scripts/setup.sh test    the above, plus Chromium, ChromeDriver and e2e's npm packages
# Needs: rustup (cargo), Node.js with npm, apt (Debian). Safe to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."

TRUNK_VERSION=0.21.14
BINARYEN_VERSION=132
TOOLS_DIR="$PWD/.tools"

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

command -v cargo >/dev/null || die "cargo is missing: install Rust with rustup (https://rustup.rs) first."
command -v npm >/dev/null || die "npm is missing: install Node.js 20 or newer (apt-get install nodejs npm)."

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root to run: $*"; fi
}

wasm_target() {
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown Rust target"
    rustup target add wasm32-unknown-unknown
  fi
}

trunk_tool() {
  if [ "$(trunk --version 2>/dev/null || true)" != "trunk $TRUNK_VERSION" ]; then
    say "installing trunk $TRUNK_VERSION (about 7 minutes, once)"
    cargo install --locked trunk --version "$TRUNK_VERSION"
  fi
}

wasm_bindgen_tool() {
  # Must match the wasm-bindgen library version in Cargo.lock exactly.
  local want
  want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
  [ -n "$want" ] || die "wasm-bindgen is not in Cargo.lock"
  if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $want" ] ||
     ! command -v wasm-bindgen-test-runner >/dev/null; then
    say "installing wasm-bindgen-cli $want (about 2 minutes, once)"
    cargo install wasm-bindgen-cli --version "$want"
  fi
  grep -q "wasm_bindgen = \"$want\"" Trunk.toml || die "Trunk.toml pins another wasm_bindgen than Cargo.lock ($want)"
}

wasm_opt_tool() {
  # Debian's binaryen 108 emits wasm that Chromium refuses; npm's binaryen works.
  if [ "$("$TOOLS_DIR/node_modules/.bin/wasm-opt" --version 2>/dev/null || true)" != "wasm-opt version $BINARYEN_VERSION (version_$BINARYEN_VERSION)" ]; then
    say "installing wasm-opt (npm binaryen@$BINARYEN_VERSION) into .tools/"
    mkdir -p "$TOOLS_DIR"
    npm install --prefix "$TOOLS_DIR" --no-audit --no-fund --loglevel=error "binaryen@$BINARYEN_VERSION" >/dev/null
  fi
}

browser() {
  if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    say "installing Debian's chromium and chromium-driver"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
}

e2e_packages() {
  # Reinstall only when package-lock.json changed since the last install.
  local stamp=e2e/node_modules/.estafette-lock
  if [ ! -f "$stamp" ] || ! cmp -s e2e/package-lock.json "$stamp"; then
    say "installing e2e's npm packages (Playwright without its browsers)"
    (cd e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp e2e/package-lock.json "$stamp"
  fi
}

case "${1:-build}" in
  build) wasm_target; wasm_opt_tool; wasm_bindgen_tool; trunk_tool ;;
  test) wasm_target; wasm_opt_tool; wasm_bindgen_tool; trunk_tool; browser; e2e_packages ;;
  *) die "usage: scripts/setup.sh [build|test]" ;;
esac
