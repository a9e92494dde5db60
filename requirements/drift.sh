#!/usr/bin/env bash
# What the newest versions allowed by pyproject.toml would change against the locks: resolves dev.txt's and
# beam.txt's inputs afresh (no pins kept) and prints each package whose version differs. Installs nothing, unless
# --install: then .venv-latest and .venv-latest-beam hold those fresh resolutions (make test-latest).
set -euo pipefail
: "${UV:?}" "${PYTHON:=python3}"
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
report() {  # lock, fresh resolution: the packages whose versions differ (a package may hold several, by marker)
    "$PYTHON" - "$1" "$2" <<'PY'
import re, sys
def pins(path):
    out = {}
    for line in open(path):
        m = re.match(r"([a-z0-9][a-z0-9._-]*)==([^\s;\\]+)", line)
        if m:
            out.setdefault(m.group(1), set()).add(m.group(2))
    return out
lock, fresh = pins(sys.argv[1]), pins(sys.argv[2])
changed = [(n, ", ".join(sorted(lock.get(n, {"(none)"}))), ", ".join(sorted(fresh.get(n, {"(none)"}))))
           for n in sorted(set(lock) | set(fresh)) if lock.get(n) != fresh.get(n)]
if not changed:
    print(f"{sys.argv[1]}: no drift")
else:
    print(f"{sys.argv[1]}: the newest allowed versions differ:")
    for name, old, new in changed:
        print(f"  {name:40} {old} -> {new}")
PY
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
