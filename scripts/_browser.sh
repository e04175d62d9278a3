# Sourced by the scripts: what the browser tests need besides Python (Playwright comes with the
# [dev] extra). The browser is Debian's chromium (/usr/bin/chromium, never downloaded by
# Playwright); axe-core, the accessibility checker the tests inject into each page, comes from
# the npm registry at a pinned version into .cache/axe (gitignored).
AXE_CORE_VERSION="4.14.1"
AXE_CORE_DIR=".cache/axe"
AXE_CORE_FILE="$AXE_CORE_DIR/node_modules/axe-core/axe.min.js"
CHROMIUM="${KHENTHUONG_CHROMIUM:-/usr/bin/chromium}"

axe_core_installed() {
    [ -f "$AXE_CORE_FILE" ] &&
        grep -q "\"version\": \"$AXE_CORE_VERSION\"" "$AXE_CORE_DIR/node_modules/axe-core/package.json"
}

# Install axe-core $AXE_CORE_VERSION into $AXE_CORE_DIR unless it is there; fails without npm.
ensure_axe_core() {
    axe_core_installed && return 0
    if ! command -v npm >/dev/null 2>&1; then
        echo "npm is not installed: cannot install axe-core $AXE_CORE_VERSION" >&2
        return 1
    fi
    mkdir -p "$AXE_CORE_DIR"
    npm install --prefix "$AXE_CORE_DIR" --no-save --no-package-lock --no-audit --no-fund \
        --loglevel=error --fetch-retries=1 "axe-core@$AXE_CORE_VERSION" >/dev/null
    axe_core_installed
}
