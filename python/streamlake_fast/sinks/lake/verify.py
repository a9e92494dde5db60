"""``streamlake lake verify``: rows and files per partition, schemas, duplicate message ids, leftover temporaries."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from streamlake_fast.sinks.lake.history import SchemaEntry, describe_change, read_history
from streamlake_fast.sinks.lake.layout import FINGERPRINT_KEY, is_data_file
from streamlake_fast.sinks.redeliveries import file_keys
from streamlake_fast.transports.storage import Root

__all__ = ["LakeReport", "PartitionReport", "find_duplicates", "verify_lake"]


@dataclass
class PartitionReport:
    name: str
    files: int = 0
    rows: int = 0
    bytes: int = 0


@dataclass
class LakeReport:
    root: str
    partitions: dict[str, PartitionReport] = field(default_factory=dict)
    fingerprints: Counter[str] = field(default_factory=Counter)  # files per schema fingerprint
    duplicate_ids: int = 0  # message ids found more than once
    duplicate_rows: int = 0  # rows beyond the first of each duplicated id
    duplicate_examples: dict[str, list[str]] = field(default_factory=dict)  # id → files holding it
    temporary_files: list[str] = field(default_factory=list)  # hidden spools left by a killed writer
    cleaned: list[str] = field(default_factory=list)  # such spools deleted (``clean_older_than``)
    unreadable: dict[str, str] = field(default_factory=dict)  # visible file → why it could not be read
    history: list[SchemaEntry] = field(default_factory=list)  # the schemas recorded, oldest first
    snapshots: int | None = None  # an Iceberg table's snapshots (None: a Parquet lake)

    def schema_history(self) -> list[dict[str, Any]]:
        """Each recorded schema: fingerprint, first use, files with it, and what changed from the one before."""
        return [{"fingerprint": e.fingerprint, "first_used": e.first_used,
                 "files": self.fingerprints.get(e.fingerprint, 0),
                 "change": describe_change(self.history[i - 1] if i else None, e)}
                for i, e in enumerate(self.history)]  # fmt: skip

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.partitions.values())

    @property
    def files(self) -> int:
        return sum(p.files for p in self.partitions.values())

    @property
    def bytes(self) -> int:
        return sum(p.bytes for p in self.partitions.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "rows": self.rows,
            "files": self.files,
            "bytes": self.bytes,
            "partitions": {k: vars(v) for k, v in sorted(self.partitions.items())},
            "schema_fingerprints": dict(self.fingerprints),
            "schema_history": self.schema_history(),
            "duplicate_ids": self.duplicate_ids,
            "duplicate_rows": self.duplicate_rows,
            "duplicate_examples": self.duplicate_examples,
            "temporary_files": self.temporary_files,
            "cleaned": self.cleaned,
            "unreadable": self.unreadable,
        } | ({"snapshots": self.snapshots} if self.snapshots is not None else {})

    def lines(self) -> list[str]:
        out = [f"{'partition':<16} {'files':>6} {'rows':>12} {'bytes':>14} {'bytes/row':>10}"]
        for name, p in sorted(self.partitions.items()):
            per = p.bytes / p.rows if p.rows else 0.0
            out.append(f"{name:<16} {p.files:>6,} {p.rows:>12,} {p.bytes:>14,} {per:>10.1f}")
        out.append(f"{'total':<16} {self.files:>6,} {self.rows:>12,} {self.bytes:>14,}")
        if self.snapshots is not None:
            out.append(f"snapshots: {self.snapshots:,}")
        if self.fingerprints:
            schemas = ", ".join(f"{k}: {v} files" for k, v in self.fingerprints.items())
            out.append(f"schemas: {len(self.fingerprints)} ({schemas})")
        if self.history:
            out.append("schema history:")
            out += [f"  {h['first_used']}  {h['fingerprint']}  {h['files']:,} files  {h['change']}"
                    for h in self.schema_history()]  # fmt: skip
        if self.duplicate_ids:
            out.append(f"duplicate message ids: {self.duplicate_ids:,} ({self.duplicate_rows:,} extra rows)")
            for mid, files in list(self.duplicate_examples.items())[:5]:
                out.append(f"  {mid}: {', '.join(files)}")
        else:
            out.append("duplicate message ids: none")
        if self.cleaned:
            out.append(f"temporary files deleted (left by interrupted writers): {len(self.cleaned)}")
        if self.temporary_files:
            n = len(self.temporary_files)
            out.append(f"temporary files left by an interrupted writer (invisible to readers): {n}")
        for name, why in self.unreadable.items():
            out.append(f"UNREADABLE {name}: {why}")
        return out


def verify_lake(root: str, *, examples: int = 20, clean_older_than: float | None = None) -> LakeReport:
    """Scan every visible Parquet file under ``root`` (footers, and the ``message_id`` column). With
    ``clean_older_than``, hidden temporaries (``.*.tmp``) last modified more than that many seconds ago — left by a
    writer that was killed — are deleted (a live writer's temporaries last about ``max_file_age``)."""
    storage = Root(root, "lake root")
    fs, base = storage.fs, storage.path
    report = LakeReport(root, history=read_history(storage))
    infos = fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
    ids: list[pa.Array] = []
    owners: list[str] = []
    for info in sorted(infos, key=lambda i: i.path):
        if info.type != pafs.FileType.File:
            continue
        rel = info.path[len(base) :].lstrip("/")
        if info.base_name.endswith(".tmp") and info.base_name.startswith("."):
            if clean_older_than is not None and _age(info) > clean_older_than:
                fs.delete_file(info.path)
                report.cleaned.append(rel)
            else:
                report.temporary_files.append(rel)
            continue
        if not is_data_file(info.base_name):
            continue
        partition = rel.rsplit("/", 1)[0] if "/" in rel else ""
        try:
            with fs.open_input_file(info.path) as f:
                pf = pq.ParquetFile(f)
                meta = pf.metadata
                col = file_keys(pf)
        except (OSError, pa.ArrowException) as e:
            report.unreadable[rel] = str(e)
            continue
        kv = meta.metadata or {}
        report.fingerprints[kv.get(FINGERPRINT_KEY, b"(none)").decode()] += 1
        p = report.partitions.setdefault(partition, PartitionReport(partition))
        p.files += 1
        p.rows += meta.num_rows
        p.bytes += info.size
        if col is not None:
            ids.append(col)
            owners.append(rel)
    if ids:
        find_duplicates(report, ids, owners, examples)
    return report


def _age(info: pafs.FileInfo) -> float:
    """Seconds since ``info`` was last modified (0 when the store does not say)."""
    mtime = info.mtime
    return (datetime.now(timezone.utc) - mtime).total_seconds() if mtime is not None else 0.0


def find_duplicates(report: LakeReport, ids: list[pa.Array], owners: list[str], examples: int) -> None:
    """Count the row keys of ``ids`` (one array per file of ``owners``; a message id, ``<id>#<line>`` for an
    envelope's later events) found more than once, into ``report``."""
    all_ids = pa.chunked_array(ids)
    counts = pc.value_counts(all_ids)
    values, n = counts.field("values"), counts.field("counts")
    dup_mask = pc.greater(n, 1)
    dups = values.filter(dup_mask)
    report.duplicate_ids = len(dups)
    report.duplicate_rows = int(pc.sum(pc.subtract(n.filter(dup_mask), 1)).as_py() or 0)
    if not report.duplicate_ids:
        return
    wanted = pa.array(dups.to_pylist()[:examples], pa.string())
    where: dict[str, list[str]] = defaultdict(list)
    for col, owner in zip(ids, owners, strict=True):
        for mid in pc.filter(col, pc.is_in(col, value_set=wanted)).to_pylist():
            where[mid].append(owner)
    report.duplicate_examples = dict(where)
