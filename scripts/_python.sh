# Sourced by the scripts: find a Python >= 3.11 and make the project's virtualenv in .venv.
find_python() {
    for candidate in python3.13 python3.12 python3.11 python3 python; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    echo "khenthuong needs Python 3.11 or newer; none was found on PATH." >&2
    return 1
}

ensure_venv() {
    local extras="$1"
    local python
    python=$(find_python)
    if [ ! -x .venv/bin/python ]; then
        "$python" -m venv .venv
    fi
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras}"
}
