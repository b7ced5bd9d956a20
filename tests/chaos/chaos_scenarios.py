"""The chaos harness's scenarios: what each one runs (window, delivery, repartition, joins, event
times), the pipeline YAML of the aggregation scenarios, the constants every part of the harness
shares (partitions, keys, groups, the commit interval) and its log line. The stream-join and
table-join scenarios' pipelines are in chaos_stream_join.py and chaos_table_join.py."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

from chaos_check import window_spec


MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
PARTITIONS = 4
KEYS = 200
RESTART_BOUND_S = 2.0  # a restarted instance processes again within this (the runtime issue)
GROUPS = 50          # the repartitioned key: value.group, one of 50, independent of the input key
COMMIT_INTERVAL = "200ms"

SCENARIO_NAMES = ("tumbling", "hopping", "session", "repartition", "old_events", "at_least_once", "table",
                  "table_repartition", "join", "stream_join", "stream_join_outer", "table_join", "branches")
DEFAULT_SCENARIOS = ("tumbling", "repartition", "table", "join")


@dataclass
class scenario:
    name: str
    window: str                      # tumbling | hopping | session | table (group by key, no window)
    delivery: str = "exactly_once"
    repartition: bool = False        # select_key value.group before the window
    time_offset_ms: int = 0          # event time = wall clock + this
    size_ms: int = DAY_MS
    advance_ms: int = DAY_MS
    gap_ms: int = 0
    grace_ms: int = HOUR_MS
    fast_segment_roll: bool = False  # old_events: internal topics roll segments every 10 s
    join: bool = False               # an inner join with a table of every key (factor 1) first
    stream_join: str = ""            # inner | outer: orders joined with payments, no aggregation
                                     # (chaos_stream_join.py)
    table_join: bool = False         # accounts (read as a table) outer-joined with owners, a table
                                     # (chaos_table_join.py)
    branches: bool = False           # the graph: two branches split the input, each re-keys by
                                     # group, a third merges them and aggregates (its own
                                     # sub-topology, reading the repartition topic both write)

    def spec(self) -> window_spec:
        return window_spec(self.window, self.size_ms, self.advance_ms)

    @property
    def ordered(self) -> bool:
        # After a repartition the records of one group come from several input partitions in an
        # order nobody fixes: only counts and the final total are exact then.
        return not self.repartition


def make_scenario(name: str, run_ms: int) -> scenario:
    if name == "tumbling":
        return scenario(name, "tumbling")
    if name == "at_least_once":
        return scenario(name, "tumbling", delivery="at_least_once")
    if name == "repartition":
        return scenario(name, "tumbling", repartition=True)
    if name == "table":
        return scenario(name, "table")
    if name == "table_repartition":
        return scenario(name, "table", repartition=True)
    if name == "join":
        # Every key's row in a co-partitioned table topic, rewritten (unchanged) every few seconds
        # during the faults: an input whose row was lost in a restore is dropped by the inner join
        # and shows as lost.
        return scenario(name, "table", join=True)
    if name == "stream_join":
        return scenario(name, "stream_join", stream_join="inner")
    if name == "stream_join_outer":
        return scenario(name, "stream_join", stream_join="outer")
    if name == "table_join":
        return scenario(name, "table_join", table_join=True)
    if name == "branches":
        return scenario(name, "table", repartition=True, branches=True)
    if name == "hopping":
        # 30-minute windows every 10 minutes: each record counts in 3 windows.
        return scenario(name, "hopping", size_ms=30 * MINUTE_MS, advance_ms=10 * MINUTE_MS)
    if name == "session":
        # A gap longer than the whole run: one session per key, growing with every record.
        gap = max(HOUR_MS, (run_ms // MINUTE_MS + 30) * MINUTE_MS)
        return scenario(name, "session", gap_ms=gap)
    if name == "old_events":
        # Event times two years back: the broker's time retention (7 days by default) sees every
        # record the app writes (repartition topic, window changelog) as expired. Segments only
        # become deletable once they roll (1 GiB or 7 days of event time in production), so the
        # harness sets segment.ms=10s on the app's internal topics to bring that moment into the
        # run; it changes nothing else of what Sluice configured.
        return scenario(name, "tumbling", repartition=True, time_offset_ms=-730 * DAY_MS,
                        fast_segment_roll=True)
    raise ValueError(f"unknown scenario '{name}' (known: {', '.join(SCENARIO_NAMES)}, all)")


def duration_text(ms: int) -> str:
    for unit, scale in (("d", DAY_MS), ("h", HOUR_MS), ("m", MINUTE_MS), ("s", 1000)):
        if ms % scale == 0:
            return f"{ms // scale}{unit}"
    return f"{ms}ms"


def pipeline_yaml(sc: scenario, name: str, input_topic: str, output_topic: str,
                  table_topic: Optional[str] = None) -> str:
    lines = [
        f"# Written by tests/chaos/chaos_run.py for scenario '{sc.name}'.",
        f"name: {name}",
        f"delivery: {sc.delivery}",
        f"commit_interval: {COMMIT_INTERVAL}",
        "sources:",
        f"  - topic: {input_topic}",
        "    key_format: string",
        "    value_format: json",
    ]
    total = "value.amount"
    if sc.join:
        lines += ["tables:", f"  - {{ name: keys, topic: {table_topic} }}",
                  "steps:", "  - join: { table: keys, type: inner, into: row }"]
        total = "value.amount * value.row.factor"
    if sc.branches:
        # Every input goes through exactly one of the two splits, so the merged counts per group
        # are those of table_repartition.
        lines += ["branches:"]
        for split, rest in (("even", 0), ("odd", 1)):
            lines += [f"  - name: {split}", "    from: main", "    steps:",
                      f"      - filter: value.seq % 2 == {rest}",
                      f"      - name: {split}-by-group", "        select_key: value.group"]
        lines += ["  - name: merged", "    from: [even, odd]"]
        indent = "    "
    else:
        indent = ""
    if sc.repartition and not sc.branches:
        lines += ([] if sc.join else ["steps:"]) + ["  - name: by-group", "    select_key: value.group"]
    aggregation_start = len(lines)
    if sc.window == "table":
        lines += ["table:", "  name: t"]
    else:
        lines += ["window:", "  name: w", f"  type: {sc.window}"]
        if sc.window == "session":
            lines.append(f"  gap: {duration_text(sc.gap_ms)}")
        else:
            lines.append(f"  size: {duration_text(sc.size_ms)}")
            if sc.window == "hopping":
                lines.append(f"  advance: {duration_text(sc.advance_ms)}")
        lines += [f"  grace: {duration_text(sc.grace_ms)}", "  emit: every_update"]
    lines += [
        "  aggregate:",
        "    - { name: records, function: count }",
        f"    - {{ name: total, function: sum, expression: {total} }}",
        "    - { name: max_seq, function: max, expression: value.seq }",
        "sink:",
        f"  topic: {output_topic}",
        "  key_format: string",
        "  value_format: json",
    ]
    # In a branch, the aggregation and the sink are the merging branch's.
    lines[aggregation_start:] = [indent + line for line in lines[aggregation_start:]]
    return "\n".join(lines) + "\n"


def log(message: str) -> None:
    print(f"chaos: {time.strftime('%H:%M:%S')} {message}", flush=True)
