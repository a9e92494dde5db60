"""Smoke test of an installed wheel, run by `make wheel-smoke` in a fresh virtualenv outside the repository: the
package imports from site-packages (not the source tree), decodes and rejects as documented, its CLI runs, and —
installed with the ``[beam]`` extra — the Beam transforms run on the DirectRunner."""

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

# Installed with the [beam] extra: Beam resolves beside the package's own pins and runs the transforms.
import apache_beam as beam  # noqa: E402

from streamlake_fast.beam import DecodeEvents  # noqa: E402

with beam.Pipeline(runner="DirectRunner") as p:
    out = p | beam.Create([b'{"id": "a", "n": 1}', b'{"id": 2}']) | DecodeEvents(schema)
    _ = out.valid | "rows" >> beam.Map(lambda b: print(f"beam: {b.num_rows} row(s)"))
    _ = out.rejects | "rejects" >> beam.Map(lambda r: print(f"beam: reject {r['reason_code']} at {r['path']}"))
print(f"wheel smoke test passed: streamlake_fast from {Path(streamlake_fast.__file__).parent}")
