"""Splitting a batch of a routed stream: by the routes' key, then by the value of each part of a route's templated
table and lake path (:meth:`Messages.by_route <streamlake_fast.codec.messages.Messages.by_route>`, in Rust, no Python
object per message). Each group is one route's messages for one concrete destination, or messages to dead-letter:
``no_route`` (no route takes their key), ``invalid_destination`` (their values make no valid table or path), or not
well-formed before the key. The worker's router and Beam's ``DecodeEvents`` split with it."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec

from streamlake_fast.codec.codec import Codec, Reject
from streamlake_fast.codec.messages import Messages
from streamlake_fast.codec.schema import Schema
from streamlake_fast.destinations.model import DeadLetter, Destinations
from streamlake_fast.destinations.routes import Route
from streamlake_fast.destinations.templates import Part, Template

__all__ = ["Group", "Plan", "Splitter"]

#: A codec that only reads JSON: it tells why a message that is not well-formed before its route key is rejected.
_JUDGE = Codec(Schema.from_bigquery([{"name": "_", "type": "JSON"}]), unknown_fields="ignore")


@dataclass
class Plan:
    """A route, its settings merged with the stream's, its templates and where its dead letters go."""

    route: Route
    d: Destinations
    table: Template
    lake: Template
    dead: DeadLetter
    parts: tuple[Part, ...]
    events: Schema | None

    def destination(self, values: tuple[str, ...]) -> Destinations:
        """The route's settings with its templates filled by ``values`` (one per part, in order)."""
        filled = dict(zip(self.parts, values, strict=True))
        d = self.d
        return msgspec.structs.replace(d, table=self.table.render(filled),
                                       lake=msgspec.structs.replace(d.lake, root=self.lake.render(filled)))  # fmt: skip


@dataclass
class Group:
    """Messages of one route and one set of template values; ``chain``: the positions mapping them back into
    the batch, innermost grouping last."""

    plan: Plan | None
    messages: Messages
    chain: tuple[Sequence[int], ...]
    values: dict[Part, str] = field(default_factory=dict)
    reject: Reject | None = None  # every message's reject (its index aside)
    malformed: bool = False

    @property
    def dead(self) -> bool:
        """Every message of the group is to be dead-lettered (see :meth:`Splitter.rejected`)."""
        return self.reject is not None or self.malformed

    @property
    def key(self) -> tuple[str, tuple[str, ...]]:
        """The destination's key: the route's name and its template values."""
        assert self.plan is not None
        return self.plan.route.name, tuple(self.values.get(p, "") for p in self.plan.parts)

    def position(self, i: int) -> int:
        """The batch index of the group's message ``i``."""
        for positions in reversed(self.chain):
            i = positions[i]
        return i


class Splitter:
    """The routes of ``d`` (checked), ready to split batches.

    :param events: the events' schema when the caller holds it (every route that names no schema uses it).
    """

    def __init__(self, d: Destinations, *, events: Schema | None = None) -> None:
        d.check(events_given=events is not None)
        routes = d.route_list()
        self.plans = {r.name: self._plan(d, r, events) for r in routes}
        keyed = [r for r in routes if r.key is not None]
        self._key = keyed[0].key if keyed else None
        self._by_value = {r.value: self.plans[r.name] for r in keyed}
        self._default = next((self.plans[r.name] for r in routes if r.key is None), None)
        self.stream_dead = d.dead_letter()

    @staticmethod
    def _plan(stream: Destinations, route: Route, events: Schema | None) -> Plan:
        d = stream.for_route(route)
        table = Template.parse(d.table, "table")
        lake = Template.parse(d.lake.root, "path", event_time=d.lake.partition_by or "event_time")
        parts = tuple(dict.fromkeys([*table.parts, *lake.parts]))
        schema = Schema.from_bigquery(d.schema) if d.schema else events  # read once, not per destination
        return Plan(route, d, table, lake, d.dead_letter(), parts, schema)

    def dead_letter_of(self, group: Group) -> DeadLetter:
        """Where the group's dead letters go: its route's dead-letter destination, else the stream's."""
        return group.plan.dead if group.plan is not None else self.stream_dead

    def groups(self, messages: Messages) -> list[Group]:
        """The batch split by route (no route: ``no_route``), then by each template part's value."""
        if self._key is None:
            first = [Group(self._default, messages, ())]
        else:
            first = []
            kind, name = self._key
            for g in messages.by_route(**{kind: name}):
                plan = self._default if g.key is None else self._by_value.get(g.key, self._default)
                group = Group(plan, g.messages, (g.positions,), malformed=g.malformed)
                if plan is None and not g.malformed:
                    what = f"{kind} {name!r} " + (f"is {g.key!r}" if g.key is not None else "is missing")
                    group.reject = Reject(0, "no_route", "", f"no route for {what}, and no default route")
                first.append(group)
        out = []
        for group in first:
            out += self._by_parts(group)
        return out

    def _by_parts(self, group: Group) -> list[Group]:
        plan = group.plan
        if plan is None or group.dead or not plan.parts:
            return [group]
        groups = [group]
        for part in plan.parts:
            split = []
            for g in groups:
                for sub in g.messages.by_route(**part.group_by()):
                    split.append(Group(plan, sub.messages, (*g.chain, sub.positions), {**g.values},
                                       malformed=sub.malformed))  # fmt: skip
                    if sub.key is None and not sub.malformed:
                        split[-1].reject = Reject(
                            0, "invalid_destination", "", f"{part}: the message has no value for it"
                        )
                    elif sub.key is not None:
                        split[-1].values[part] = sub.key
            groups = split
        for g in groups:
            if not g.dead:
                g.reject = self._check_values(plan, g.values)
        return groups

    @staticmethod
    def _check_values(plan: Plan, values: dict[Part, str]) -> Reject | None:
        try:
            plan.table.render(values)
            plan.lake.render(values)
        except ValueError as e:
            return Reject(0, "invalid_destination", "", str(e))
        return None

    @staticmethod
    def rejected(group: Group) -> list[Reject]:
        """The rejects of a group to dead-letter, one per message (indices within the group)."""
        if group.reject is not None:
            return [dataclasses.replace(group.reject, index=i) for i in range(len(group.messages))]
        found = {r.index: r for r in _JUDGE.decode(group.messages).rejects}
        return [found.get(i) or Reject(i, "invalid_json", "", "not well-formed JSON before the route key")
                for i in range(len(group.messages))]  # fmt: skip
