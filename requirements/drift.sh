#!/usr/bin/env bash
# What the newest versions allowed by pyproject.toml would change against the locks: resolves dev.txt's and
# beam.txt's inputs afresh (no pins kept) and prints each package whose version differs. Installs nothing, unless
# --install: then .venv-latest and .venv-latest-beam hold those fresh resolutions (make test-latest).
set -euo pipefail
: "${UV:?}" "${PYTHON:=python3}"
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
pins() { grep -oE '^[a-z0-9][a-z0-9._-]*==[^ ;\\]+' "$1" | sort -u; }
report() {  # lock, fresh resolution
    local changed
    changed=$(join -j1 -a1 -a2 -e '(none)' -o 0,1.2,2.2 -t= \
        <(pins "$1" | sed 's/==/=/' | sort -t= -k1,1) <(pins "$2" | sed 's/==/=/' | sort -t= -k1,1) \
        | awk -F= '$2 != $3 {printf "  %-40s %s -> %s\n", $1, $2, $3}')
    if [ -z "$changed" ]; then echo "$1: no drift"; else echo "$1: the newest allowed versions differ:"; echo "$changed"; fi
}
"$UV" pip compile -q --universal --upgrade pyproject.toml --extra gcp --extra aws --extra http --extra test \
    --extra bench --extra lint -o "$out/dev.txt"
"$UV" pip compile -q --universal --upgrade pyproject.toml --extra beam --extra test -o "$out/beam.txt"
report requirements/dev.txt "$out/dev.txt"
report requirements/beam.txt "$out/beam.txt"
if [ "${1:-}" = "--install" ]; then
    for env in latest:dev latest-beam:beam; do
        venv=".venv-${env%%:*}"
        [ -x "$venv/bin/python" ] || "$UV" venv -q --python "$PYTHON" "$venv"
        "$UV" pip sync -q --python "$venv/bin/python" "$out/${env##*:}.txt"
    done
fi
