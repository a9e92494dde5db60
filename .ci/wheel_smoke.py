"""Smoke test of an installed wheel, run by `make wheel-smoke` in a fresh virtualenv outside the repository: the
package imports from site-packages (not the source tree), decodes and rejects as documented, and its CLI runs."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import streamlake_fast
from streamlake_fast import Codec, Schema

assert Path(streamlake_fast.__file__).is_relative_to(sysconfig.get_paths()["purelib"]), streamlake_fast.__file__
schema = Schema.from_bigquery([{"name": "id", "type": "STRING", "mode": "REQUIRED"}, {"name": "n", "type": "INT64"}])
result = Codec(schema).decode([b'{"id": "a", "n": 1}', b'{"id": 2}', json.dumps({"id": "c"}).encode()])
assert result.batch.num_rows == 2, result
assert [(r.index, r.code, r.path) for r in result.rejects] == [(1, "type_mismatch", "id")], result.rejects
cli = subprocess.run([sys.executable, "-m", "streamlake_fast.cli", "--help"], capture_output=True, text=True)
assert cli.returncode == 0 and "demo" in cli.stdout, cli.stderr
print(f"wheel smoke test passed: streamlake_fast from {Path(streamlake_fast.__file__).parent}")
