"""Start bqemulator with the workarounds it needs on these machines (run with the emulator's own Python, which
has bqemulator installed; this file imports nothing of streamlake_fast).

1. Offline start: DuckDB's spatial extension comes from PyPI (duckdb-extension-spatial) and is placed where DuckDB
   looks for it, under a private HOME, so bqemulator's `INSTALL spatial` needs no network.
2. bqemulator 1.4.0 drops RECORD sub-fields when it builds the Arrow schema for Storage Write AppendRows
   ("Attempted to convert a STRUCT with no fields to DuckDB"); the insertAll route builds it correctly, so the
   Storage Write path is pointed at that builder.
3. bqemulator copies the whole table into an automatic time-travel snapshot after every write, so time and memory
   grow with rows times writes (a 1,000,000-row demo ran the machine out of memory); nothing here uses time travel,
   so automatic snapshots are skipped (the change event that invalidates its query cache is still published).
4. bqemulator uses one DuckDB connection from its REST event loop and its gRPC threads at once; a query arriving
   while a Storage Write append runs can deadlock it (every later append then times out). One lock — the Storage
   Write handler's own — is taken around every use of the connection, so one thread at a time uses it.
5. A table update (``tables.patch``/``update``) changes only bqemulator's catalog, not the stored DuckDB table, so
   Storage Write drops the new columns' values silently; a query's ``ALTER TABLE ADD COLUMN`` changes only the
   stored table. Here an update that adds top-level columns (or relaxes modes) also adds them to the stored table, as
   BigQuery's one table does (new columns inside a RECORD are not carried over); and, as BigQuery does, an update
   whose ``If-Match`` etag is stale is refused with 412 (bqemulator ignores it, so concurrent updates overwrite).

Usage: HOME=DIR python bqemulator_launch.py [bqemulator start options...]
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def _place_spatial_extension(home: Path) -> None:
    import duckdb
    import duckdb_extension_spatial

    version = f"v{duckdb.__version__}"
    src = next(Path(duckdb_extension_spatial.__file__).parent.rglob("spatial.duckdb_extension"))
    dest = home / ".duckdb" / "extensions" / version / "linux_amd64"
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(src, dest / "spatial.duckdb_extension")


def _patch_record_schema() -> None:
    from bqemulator.api.routes import tabledata
    from bqemulator.grpc_api import write_servicer

    def table_arrow_schema(table_meta):  # type: ignore[no-untyped-def]
        return tabledata._build_arrow_schema(tabledata._fields_raw_from_schema(table_meta.schema_.fields))

    write_servicer._table_arrow_schema = table_arrow_schema


def _skip_auto_snapshots() -> None:
    from bqemulator.domain.events import TableDataChanged
    from bqemulator.versioning.snapshots import SnapshotManager

    def record_change(self, project_id, dataset_id, table_id):  # type: ignore[no-untyped-def]
        self._events.publish(TableDataChanged(project_id, dataset_id, table_id))

    SnapshotManager.record_change = record_change


def _one_connection_user_at_a_time() -> None:
    import functools
    import threading

    from bqemulator.grpc_api import write_servicer
    from bqemulator.storage.engine import DuckDBEngine

    lock = threading.RLock()
    write_servicer.RLock = lambda: lock  # the AppendRows handler's lock, held around each insert

    def locked(method):  # type: ignore[no-untyped-def]
        @functools.wraps(method)
        def run(*args, **kwargs):  # type: ignore[no-untyped-def]
            with lock:
                return method(*args, **kwargs)

        return run

    DuckDBEngine.execute = locked(DuckDBEngine.execute)
    DuckDBEngine.fetch_arrow = locked(DuckDBEngine.fetch_arrow)


def _table_updates_as_bigquery() -> None:
    import functools

    from bqemulator.api.routes import tables
    from bqemulator.storage.sql_identifiers import quoted_table_ref
    from bqemulator.storage.type_map import bq_schema_to_duckdb_columns
    from fastapi.responses import JSONResponse

    def conditional(original):  # type: ignore[no-untyped-def]
        @functools.wraps(original)
        async def endpoint(project_id, dataset_id, table_id, request, ctx):  # type: ignore[no-untyped-def]
            old = ctx.catalog.get_table(project_id, dataset_id, table_id)
            expected = request.headers.get("if-match")
            if old is not None and expected and expected != old.etag:
                body = {"code": 412, "message": "Precondition check failed.", "status": "FAILED_PRECONDITION"}
                return JSONResponse({"error": {**body, "errors": [{"reason": "conditionNotMet", **body}]}}, 412)
            result = await original(project_id, dataset_id, table_id, request, ctx)
            known = {f.name for f in old.schema_.fields} if old is not None else set()
            new = [f for f in result.get("schema", {}).get("fields", []) if f["name"] not in known]
            ref = quoted_table_ref(project_id, dataset_id, table_id)
            for name, dtype in bq_schema_to_duckdb_columns(new):
                ctx.engine.execute(f'ALTER TABLE {ref} ADD COLUMN IF NOT EXISTS "{name}" {dtype}')
            return result

        return endpoint

    for route in tables.router.routes:
        if getattr(route, "endpoint", None) in (tables.patch_table, tables.update_table):
            route.endpoint = conditional(route.endpoint)  # type: ignore[attr-defined]


def main() -> None:
    home = Path(os.environ["HOME"])
    _place_spatial_extension(home)
    _patch_record_schema()
    _skip_auto_snapshots()
    _one_connection_user_at_a_time()
    _table_updates_as_bigquery()
    from bqemulator.cli import main as cli_main

    sys.argv = ["bqemulator", "start", *sys.argv[1:]]
    cli_main()


if __name__ == "__main__":
    main()
