"""Live schema pickup: notice that the table's schema changed under the running worker, and (opt-in) change it.

The table's schema is read again when a batch has rejects a wider schema could take (``unknown_field``,
``missing_required``) and on a slow timer (``interval``, idle or not). Looks caused by rejects are at least
``min_interval`` seconds apart: a batch whose look falls sooner waits for its turn (a schema change made just after
a look is still picked up for the burst that needs it), unless its fields were already looked for
``MAX_FRUITLESS`` times in vain (a producer that keeps sending a field no one will add costs no waiting). A widened
schema (new NULLABLE or REPEATED columns, REQUIRED relaxed to NULLABLE) is adopted; anything else (a dropped column, a
changed type) is logged and not adopted. With ``add_columns``, the worker adds NULLABLE columns for the rejected
events' unknown fields itself (types from a newer schema, or inferred from the values); with ``relax_required``, it
relaxes REQUIRED columns the events leave out. Nothing here runs per event: only rejects are looked at.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial

from streamlake_fast.codec.codec import Reject
from streamlake_fast.codec.evolution import Inference, added_columns, narrowing, relax, widen_for_events
from streamlake_fast.codec.messages import Messages
from streamlake_fast.codec.schema import BigQueryField, Schema
from streamlake_fast.exceptions import ConfigError

__all__ = ["SCHEMA_TRIGGERS", "SchemaWatch"]

log = logging.getLogger(__name__)

#: Reject codes a wider schema could take: a batch with one makes the worker look at the table again.
SCHEMA_TRIGGERS = frozenset({"unknown_field", "missing_required"})
#: Rejected events read to infer new columns, per check (the rest wait for the next batch).
MAX_EVENTS_INFERRED = 1000
#: Looks for a field that found no column for it, after which a batch with it no longer waits for a look.
MAX_FRUITLESS = 2
#: Fields whose fruitless looks are counted (beyond it, the oldest are forgotten).
MAX_FIELDS_TRACKED = 10_000
#: Keys refused as new columns that are logged per check, and remembered (so as to be logged once).
MAX_REFUSED_LOGGED = 10
MAX_REFUSED_REMEMBERED = 10_000
_INDEX = re.compile(r"\[\d+\]")


class SchemaWatch:
    """Watches ``table`` (``project.dataset.table``) whose columns are ``current`` (metadata columns included).

    :param fetch: reads the table's schema (raises on failure).
    :param update: changes the table's columns by a function of its current ones (``add_columns``,
        ``relax_required``).
    :param interval: seconds between timed checks (0: only when a batch has trigger rejects).
    :param min_interval: least seconds between two checks caused by rejects (rejects in between are dead-lettered;
        ``streamlake dead-letters replay`` brings them home).
    """

    def __init__(
        self,
        table: str,
        current: Schema,
        *,
        fetch: Callable[[], Schema],
        update: Callable[[Callable[[list[BigQueryField]], list[BigQueryField] | None]], list[BigQueryField]]
        | None = None,
        interval: float = 60.0,
        min_interval: float = 2.0,
        add_columns: bool = False,
        relax_required: bool = False,
        inference: Inference | None = None,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[float, threading.Event], object] | None = None,
    ) -> None:
        self.table = table
        self.current = current
        self._fetch = fetch
        if (add_columns or relax_required) and update is None:
            raise ConfigError("a schema watch that adds columns needs the table's update function")
        self._update = update
        self.interval = interval
        self.min_interval = min_interval
        self.add_columns = add_columns
        self.relax_required = relax_required
        self.inference = inference or Inference()
        self._clock = clock
        self._wait = wait or (lambda seconds, abort: abort.wait(seconds))
        self._fruitless: dict[str, int] = {}  # field path → looks for it that found no column
        self._last = clock()  # the last check, for the timer
        self._last_on_rejects = float("-inf")  # the last check rejects called for: the first is never held back
        self._refused: set[str] = set()  # fingerprints of narrowing schemas, logged once
        self._refused_columns: dict[str, str] = {}
        self.checks = 0
        self.changes = 0
        self.failures = 0
        self.refused_columns = 0  # distinct keys not added as columns (bad names, caps)
        self.deferred = 0  # looks that waited for their turn

    def timer_due(self) -> bool:
        return self.interval > 0 and self._clock() - self._last >= self.interval

    def on_rejects(self, messages: Messages, rejects: Sequence[Reject], abort: threading.Event) -> Schema | None:
        """A look at the table for these rejects, if they call for one (waiting for its turn when the last look was
        under ``min_interval`` ago; at most that long, or until ``abort``): the widened schema, or None."""
        fields = {_INDEX.sub("", r.path) for r in rejects if r.code in SCHEMA_TRIGGERS}
        if not fields:
            return None
        delay = self._last_on_rejects + self.min_interval - self._clock()
        if delay > 0:
            if all(self._fruitless.get(f, 0) >= MAX_FRUITLESS for f in fields):
                return None
            self.deferred += 1
            self._wait(delay, abort)
        new = self.check(messages, rejects)
        for f in fields:
            if new is None:
                self._fruitless[f] = self._fruitless.pop(f, 0) + 1
            else:
                self._fruitless.pop(f, None)
        while len(self._fruitless) > MAX_FIELDS_TRACKED:
            del self._fruitless[next(iter(self._fruitless))]
        return new

    def check(self, messages: Messages | None = None, rejects: Sequence[Reject] = ()) -> Schema | None:
        """Read the table's schema (changing it first, with ``add_columns``/``relax_required`` and rejects that
        call for it); returns it when it is a widening of :attr:`current` (which it then becomes), else None.
        Failures are logged, never raised: the events stay rejects and can be replayed."""
        self._last = self._clock()
        if messages is not None:
            self._last_on_rejects = self._last
        self.checks += 1
        try:
            if messages is not None and self._update is not None and (self.add_columns or self.relax_required):
                new = Schema.from_bigquery(self._update(partial(self._wanted, messages, rejects)))
            else:
                new = self._fetch()
        except Exception as e:  # BigQuery unreachable or refusing: carry on with the schema we have
            self.failures += 1
            log.warning("schema check of %s failed: %s; rejected events go to the dead letters", self.table, e)
            return None
        if new.fingerprint == self.current.fingerprint:
            return None
        old_fields, new_fields = self.current.to_bigquery(), new.to_bigquery()
        problems = narrowing(old_fields, new_fields)
        if problems:
            if new.fingerprint not in self._refused:
                self._refused.add(new.fingerprint)
                log.error("table %s changed in a way the running worker cannot follow (%s); restart it to use the "
                          "new schema", self.table, "; ".join(problems))  # fmt: skip
            return None
        self.changes += 1
        log.info("table %s: new columns %s; the worker writes them from now on", self.table,
                 ", ".join(added_columns(old_fields, new_fields)) or "(none; modes relaxed)")  # fmt: skip
        self.current = new
        return new

    def _wanted(
        self, messages: Messages, rejects: Sequence[Reject], fields: list[BigQueryField]
    ) -> list[BigQueryField] | None:
        """The columns these rejects call for, given the table's ``fields``; None when it has them all."""
        changed: list[str] = []
        if self.add_columns:
            unknown = [r.index for r in rejects if r.code == "unknown_field"][:MAX_EVENTS_INFERRED]
            widening = widen_for_events(fields, (messages.message(i).data for i in unknown), self.inference)
            fields = widening.fields
            changed += widening.added
            self._log_refused(widening.refused)
        if self.relax_required:
            missing = [_INDEX.sub("", r.path) for r in rejects if r.code == "missing_required"]
            fields, relaxed = relax(fields, missing)
            changed += [f"{p} (relaxed)" for p in relaxed]
        if not changed:
            return None
        log.info("table %s: adding %s", self.table, ", ".join(changed))  # names that passed name_problem: plain
        return fields

    def _log_refused(self, refused: dict[str, str]) -> None:
        """Each refused key once (its events stay rejects, dead-lettered with ``unknown_field``)."""
        new = {path: why for path, why in refused.items() if path not in self._refused_columns}
        if len(self._refused_columns) < MAX_REFUSED_REMEMBERED:
            self._refused_columns.update(new)
        self.refused_columns += len(new)
        for path, why in list(new.items())[:MAX_REFUSED_LOGGED]:
            log.warning("table %s: not adding %s: %s", self.table, _shown(path), why)
        if len(new) > MAX_REFUSED_LOGGED:
            log.warning("table %s: %d more keys not added", self.table, len(new) - MAX_REFUSED_LOGGED)


def _shown(name: str) -> str:
    """A key as a log line may hold it: printable, quoted, at most 80 characters."""
    text = repr(name)
    return text if len(text) <= 80 else text[:77] + "..."
