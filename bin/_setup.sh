# Shared set-up for bin/run and bin/test: a virtual environment with the
# pinned dependencies, reinstalled only when a requirements file changes.
# Usage: source bin/_setup.sh <requirements file>
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

python_bin="${PYTHON:-python3}"
if ! "$python_bin" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "Python 3.11 or newer is needed (found: $("$python_bin" --version 2>&1))." >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    echo "Creating the virtual environment in .venv ..."
    "$python_bin" -m venv .venv
fi

requirements="$1"
stamp=".venv/.installed-$(cat requirements.txt "$requirements" constraints.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    echo "Installing pinned dependencies from $requirements ..."
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -r "$requirements" -c constraints.txt
    rm -f .venv/.installed-*
    touch "$stamp"
fi
