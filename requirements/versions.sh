#!/usr/bin/env bash
# Prints each virtualenv's packages and fails if one is not the version its lock names: VENV=LOCK ...
set -euo pipefail
: "${UV:?}"
status=0
for pair in "$@"; do
    venv=${pair%%=*} lock=${pair#*=}
    installed=$("$UV" pip freeze -q --python "$venv/bin/python" | grep -v '^streamlake' \
        | grep -v '^-e ' | tr 'A-Z_' 'a-z-' | sed 's/ @ .*//' | sort)
    locked=$(grep -oE '^[a-z0-9][a-z0-9._-]*==[^ ;\\]+' "$lock" | tr '_' '-' | sort -u)
    unlocked=$(comm -23 <(echo "$installed") <(echo "$locked"))
    key=$(echo "$installed" | grep -E '^(pyarrow|protobuf|grpcio|apache-beam|google-cloud-(pubsub|bigquery)|botocore|duckdb|polars|moto|bqemulator|uvicorn)==' | tr '\n' ' ')
    echo "$venv: $(echo "$installed" | wc -l) packages, each the version $lock names: $key..."
    if [ -n "$unlocked" ]; then
        echo "$venv: not the locked version: $unlocked" >&2
        status=1
    fi
done
exit $status
