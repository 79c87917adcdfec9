# Sourced by scripts/*: create .venv and install gamepay with its dev extra when missing or stale.
ensure_venv() {
    local stamp=.venv/.installed-pyproject
    if [ ! -x .venv/bin/python ]; then
        python3 -m venv .venv
    fi
    if [ ! -f "$stamp" ] || ! cmp -s pyproject.toml "$stamp"; then
        .venv/bin/python -m pip install -q --upgrade pip
        .venv/bin/python -m pip install -q -e ".[dev]"
        cp pyproject.toml "$stamp"
    fi
}
