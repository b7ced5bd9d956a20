"""The chaos harness's independent checker: what a pipeline should have written, from what was
produced, compared with what it did write (read back with read_committed).

Pure logic, standard library only: the driver (chaos_run.py; one scenario's check is in
chaos_scenario_run.py) feeds it records it read with kafka-python, and test_chaos_check.py feeds it
hand-made lists (a gap, a duplicate, a wrong total) to prove that it fails when it should.

The pipelines under test aggregate `count` (as `records`), `sum` of value.amount (as `total`) and
`max` of value.seq (as `max_seq`, for diagnosis only) per key and window, with
`emit: every_update`: every input record makes its window(s) emit the new aggregate. For one
output group (a key and window start; a key alone for session windows) that received n inputs,
the emitted counts must therefore be exactly 1, 2, ..., n:

- a count missing from 1..n           = an input lost (never counted, or counted in an aborted
                                        transaction whose replay was skipped);
- a count seen twice                  = a duplicate (a committed result emitted again: a replay
                                        from an older state, or a zombie's commit);
- a count above n                     = an input counted twice into the state (overcount);
- counts not increasing in log order  = a replay (a state going back in time);
- the result with count k whose total is not the sum of the group's first k inputs (only where
  the input order of a group is fixed: not after a repartition, whose topic interleaves input
  partitions) = a state that does not match the records counted;
- the last result (highest offset) must be exactly (n, sum of the group's inputs).

Under exactly_once every one of these fails the check. Under at_least_once an input may be
processed twice, and its effect then stays in the state (a crash or a failed offset commit after
the state and its changelog were written replays records whose effects are stored: Kafka
Streams' at-least-once does the same), so duplicates, replays, their totals and a final state
above (n, sum) are reported, not failed; a lost count, a final count below n, a final count of n
with the wrong sum, or an unexpected group fail it.

Table aggregations (group by key, no window): one group per key, counts 1..n as above; results
carry no window_start.

Session windows: the harness picks an inactivity gap longer than the whole run, so every key has
one session, which grows with each record (the aggregator merges the record into the open
session and emits [first event time, last event time]). Checked per key: counts 1..n as above,
every result's window_start equal to the key's first event time (a different start means the
session was split or restarted from a lost state), and the final window_end equal to the key's
last event time.

Stream-stream joins (`join: {stream, within, grace, type}`, no aggregation): every result is one
pair, (key, left record, right record) with None for a missing side, identified by the records'
`seq`. The expected pairs come from the two input topics as read back: a left and a right record
of one key pair when their timestamps are at most `within` apart (inclusive, Kafka Streams'
JoinWindows); for left and outer joins a left record without a partner gives (key, left, None),
and for outer joins a right record without one gives (key, None, right), but only once its window
and grace have passed the task's final stream time (the largest timestamp of its partition in
either topic; the harness ends such a run with records far ahead in time so that every window
closes). Every expected pair must be emitted exactly once: one never emitted is lost, one emitted
again a duplicate, an emitted pair not expected (a wrong partner, a null result for a record that
had one, a result of a still-open window) a wrong pair.

Table-table joins (a source read as a table outer-joined with a table, no deletes: every update
of either side emits the key's joined value; chaos_table_join.py): a key's results name the left
and right updates they were made of (their seqs). Numbering each key's updates per side in topic
order (1, 2, ...; 0 before the first), a result is a state (i, j), and the key's results in log
order must walk from (0, 0) to (all its left updates, all its right updates) one update at a
time, whatever order the task took the two topics' records in: each result one more update of
one side than the one before. A state seen before is a duplicate; a step past more than one
update loses those in between (lost, counted per update); a state below the previous one on
either side (a store restored to an older value) is out of order; a key's walk that ends short of
its last updates loses the rest (and is a final mismatch); a result naming a seq that is not one
of the key's updates (or with neither side) is a wrong pair (malformed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Optional

EXAMPLES_PER_PROBLEM = 8


@dataclass(frozen=True)
class window_spec:
    """type: tumbling | hopping | session | table; size/advance in milliseconds (advance = size
    for tumbling; both unused for session and table)."""

    type: str
    size_ms: int = 0
    advance_ms: int = 0

    def starts(self, t: int) -> list[Optional[int]]:
        """The window starts a record of event time t falls in, ascending (the aggregator's own
        rule: start = t - t % advance, then back by advance while start > t - size, start >= 0).
        None for a session window or a table: the group is the key alone."""
        if self.type in ("session", "table"):
            return [None]
        advance = self.advance_ms if self.type == "hopping" else self.size_ms
        starts = []
        start = t - t % advance
        while start >= 0 and start > t - self.size_ms:
            starts.append(start)
            start -= advance
        starts.reverse()
        return starts


@dataclass(frozen=True)
class input_record:
    """One record the pipeline consumed: where it sits in the input topic, the key it is
    aggregated under (after select_key, if any), and its event time and amount."""

    partition: int
    offset: int
    key: str
    t: int
    amount: int
    seq: int


@dataclass(frozen=True)
class output_record:
    """One result read back from the output topic (read_committed)."""

    partition: int
    offset: int
    key: str
    window_start: Optional[int]
    window_end: Optional[int]
    count: Optional[int]
    total: Optional[float]
    max_seq: Optional[float] = None


@dataclass
class expected_group:
    n: int = 0
    total: int = 0
    prefix: list[int] = field(default_factory=list)  # prefix[k-1] = total after k inputs
    first_t: Optional[int] = None
    last_t: Optional[int] = None


def group_id(key: str, window_start: Optional[int]) -> str:
    return key if window_start is None else f"{key}@{window_start}"


def expected_groups(inputs: Iterable[input_record], window: window_spec) -> dict[tuple, expected_group]:
    """(key, window start) -> what the group must end with. Inputs are taken in log order per
    input partition (sorted by partition, offset), which is the order one task applies them in."""
    groups: dict[tuple, expected_group] = {}
    for r in sorted(inputs, key=lambda r: (r.partition, r.offset)):
        for start in window.starts(r.t):
            g = groups.setdefault((r.key, start), expected_group())
            g.n += 1
            g.total += r.amount
            g.prefix.append(g.total)
            g.first_t = r.t if g.first_t is None else min(g.first_t, r.t)
            g.last_t = r.t if g.last_t is None else max(g.last_t, r.t)
    return groups


def _same_number(a, b) -> bool:
    if a is None or b is None:
        return False
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6)
    except (TypeError, ValueError):
        return False


def _as_count(value) -> Optional[int]:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


PROBLEMS = (
    "lost",                # counts of 1..n never emitted (summed over groups)
    "duplicated",          # extra emissions of a count already emitted
    "overcounted",         # emissions with a count above n (or below 1)
    "out_of_order",        # emissions whose count is not above the previous one in log order
    "wrong_totals",        # count k emitted with a total other than the sum of the first k inputs
    "final_mismatch",      # groups whose last result is not (n, sum) (at_least_once: below it)
    "final_overcount",     # at_least_once: groups whose last result counts more than n inputs
    "missing_groups",      # expected groups with no result at all (their counts are in `lost`)
    "unexpected_groups",   # groups in the output that no input should have made
    "session_mismatch",    # session results whose start (or final end) is not the key's
    "split_partitions",    # groups whose results sit in more than one output partition
    "malformed",           # output records without a usable key/count/total
    "wrong_pairs",         # stream joins: emitted pairs that the inputs do not make
)

# Problems that fail an at_least_once run; every problem fails an exactly_once run.
AT_LEAST_ONCE_FAILURES = ("lost", "final_mismatch", "missing_groups", "unexpected_groups",
                          "session_mismatch", "split_partitions", "malformed", "wrong_pairs")


class _problem_log:
    """What a check found: a count per problem and the first few examples of each."""

    def __init__(self) -> None:
        self.counts = {p: 0 for p in PROBLEMS}
        self.examples: dict[str, list] = {p: [] for p in PROBLEMS}

    def note(self, problem: str, amount: int, example) -> None:
        if amount <= 0:
            return
        self.counts[problem] += amount
        if len(self.examples[problem]) < EXAMPLES_PER_PROBLEM:
            self.examples[problem].append(example)

    def report(self, delivery: str, **figures) -> dict:
        """The JSON-ready report: the figures, the counts, examples, `failures` (the problems
        that fail under `delivery`) and `passed`."""
        failing = PROBLEMS if delivery == "exactly_once" else AT_LEAST_ONCE_FAILURES
        failures = [f"{p}: {self.counts[p]}" for p in failing if self.counts[p] > 0]
        return {"delivery": delivery, **figures, "problems": self.counts,
                "examples": {p: e for p, e in self.examples.items() if e},
                "failures": failures, "passed": not failures}


def check(expected: dict[tuple, expected_group], outputs: Iterable[output_record], *,
          delivery: str, ordered: bool, session: bool, table: bool = False) -> dict:
    """Compares the results with the expected groups. ordered: the input order of every group is
    fixed, so the total of each count can be checked too. session, table: groups are keys alone. Returns a JSON-ready report with a
    count per problem, examples, `failures` (the problems that fail under `delivery`) and
    `passed`."""
    found = _problem_log()
    problems, note = found.counts, found.note

    by_key = session or table
    by_group: dict[tuple, list[output_record]] = {}
    outputs_total = 0
    for o in outputs:
        outputs_total += 1
        count = _as_count(o.count)
        if o.key is None or count is None or o.total is None or (not by_key and o.window_start is None):
            note("malformed", 1, {"partition": o.partition, "offset": o.offset, "key": o.key,
                                  "count": o.count, "total": o.total})
            continue
        by_group.setdefault((o.key, None if by_key else o.window_start), []).append(o)

    groups_ok = 0
    for gkey, want in expected.items():
        got = by_group.get(gkey, [])
        name = group_id(*gkey)
        if not got:
            note("missing_groups", 1, name)
            note("lost", want.n, {"group": name, "missing": f"1..{want.n}"})
            continue
        before = dict(problems)
        partitions = {o.partition for o in got}
        if len(partitions) > 1:
            note("split_partitions", 1, {"group": name, "partitions": sorted(partitions)})
        got.sort(key=lambda o: (o.partition, o.offset))
        seen: dict[int, int] = {}
        previous = 0
        for o in got:
            c = _as_count(o.count)
            seen[c] = seen.get(c, 0) + 1
            if c <= previous:
                note("out_of_order", 1, {"group": name, "offset": o.offset, "count": c,
                                         "after": previous, "max_seq": o.max_seq})
            previous = c
            if c < 1 or c > want.n:
                note("overcounted", 1, {"group": name, "offset": o.offset, "count": c,
                                        "expected_n": want.n, "max_seq": o.max_seq})
            elif seen[c] > 1:
                note("duplicated", 1, {"group": name, "offset": o.offset, "count": c,
                                       "times": seen[c], "max_seq": o.max_seq})
            if ordered and 1 <= c <= want.n and seen[c] == 1 and not _same_number(o.total, want.prefix[c - 1]):
                note("wrong_totals", 1, {"group": name, "offset": o.offset, "count": c,
                                         "total": o.total, "expected": want.prefix[c - 1]})
            if session and o.window_start != want.first_t:
                note("session_mismatch", 1, {"group": name, "offset": o.offset,
                                             "window_start": o.window_start,
                                             "expected": want.first_t})
        missing = [c for c in range(1, want.n + 1) if c not in seen]
        if missing:
            note("lost", len(missing), {"group": name, "n": want.n, "missing": _ranges(missing)})
        final = got[-1]
        final_count = _as_count(final.count)
        if delivery == "at_least_once" and final_count is not None and final_count > want.n:
            note("final_overcount", 1, {"group": name, "final_count": final.count,
                                        "final_total": final.total, "expected_n": want.n,
                                        "expected_total": want.total})
        elif final_count != want.n or not _same_number(final.total, want.total):
            note("final_mismatch", 1, {"group": name, "final_count": final.count,
                                       "final_total": final.total, "expected_n": want.n,
                                       "expected_total": want.total})
        if session and final.window_end != want.last_t:
            note("session_mismatch", 1, {"group": name, "final_window_end": final.window_end,
                                         "expected": want.last_t})
        if problems == before:
            groups_ok += 1

    for gkey, got in by_group.items():
        if gkey not in expected:
            note("unexpected_groups", 1, {"group": group_id(*gkey), "results": len(got)})

    return found.report(delivery, expected_results=sum(g.n for g in expected.values()),
                        outputs=outputs_total, groups=len(expected), groups_ok=groups_ok)


@dataclass(frozen=True)
class join_input:
    """One record of a stream join's input: side "left" (the main stream) or "right" (the
    joined stream), where it sits, its key, timestamp and the producer's unique seq."""

    side: str
    partition: int
    offset: int
    key: str
    t: int
    seq: int


@dataclass(frozen=True)
class join_output:
    """One join result read back: the seqs of its left and right records (None: that side is
    missing, a left or outer join's unmatched record)."""

    partition: int
    offset: int
    key: Optional[str]
    left_seq: Optional[int]
    right_seq: Optional[int]


def expected_join_pairs(inputs: Iterable[join_input], *, kind: str, within_ms: int,
                        grace_ms: int) -> dict[tuple, int]:
    """(key, left seq, right seq) -> how often the join must emit it (1; more only if the input
    holds the same record twice). kind: inner | left | outer."""
    by_key: dict[str, dict[str, list[join_input]]] = {}
    stream_time: dict[int, int] = {}
    for r in inputs:
        by_key.setdefault(r.key, {"left": [], "right": []})[r.side].append(r)
        stream_time[r.partition] = max(stream_time.get(r.partition, r.t), r.t)

    def closed(r: join_input) -> bool:
        return r.t + within_ms + grace_ms < stream_time[r.partition]

    expected: dict[tuple, int] = {}

    def add(pair: tuple) -> None:
        expected[pair] = expected.get(pair, 0) + 1

    for key, sides in by_key.items():
        matched_right: set[int] = set()
        for left in sides["left"]:
            partners = [right for right in sides["right"] if abs(left.t - right.t) <= within_ms]
            for right in partners:
                add((key, left.seq, right.seq))
                matched_right.add(right.seq)
            if not partners and kind in ("left", "outer") and closed(left):
                add((key, left.seq, None))
        if kind == "outer":
            for right in sides["right"]:
                if right.seq not in matched_right and closed(right):
                    add((key, None, right.seq))
    return expected


def check_join(expected: dict[tuple, int], outputs: Iterable[join_output], *, delivery: str) -> dict:
    """Compares a stream join's results with the expected pairs; the same report as check()
    (groups: expected pairs; groups_ok: those emitted exactly as often as expected)."""
    found = _problem_log()
    note = found.note

    got: dict[tuple, list[join_output]] = {}
    outputs_total = 0
    for o in outputs:
        outputs_total += 1
        if o.key is None or (o.left_seq is None and o.right_seq is None):
            note("malformed", 1, {"partition": o.partition, "offset": o.offset, "key": o.key})
            continue
        got.setdefault((o.key, o.left_seq, o.right_seq), []).append(o)

    pairs_ok = 0
    for pair, times in expected.items():
        emitted = got.get(pair, [])
        if len(emitted) < times:
            note("lost", times - len(emitted), {"pair": list(pair), "emitted": len(emitted)})
        elif len(emitted) > times:
            note("duplicated", len(emitted) - times,
                 {"pair": list(pair), "emitted": len(emitted),
                  "at": [[o.partition, o.offset] for o in emitted[:4]]})
        else:
            pairs_ok += 1
    for pair, emitted in got.items():
        if pair not in expected:
            note("wrong_pairs", len(emitted), {"pair": list(pair), "emitted": len(emitted),
                                               "at": [emitted[0].partition, emitted[0].offset]})

    return found.report(delivery, expected_results=sum(expected.values()), outputs=outputs_total,
                        groups=len(expected), groups_ok=pairs_ok)


@dataclass(frozen=True)
class table_update:
    """One update of a table-table join's input: side "left" (the source read as a table) or
    "right" (the joined table), where it sits, its key and the producer's unique seq."""

    side: str
    partition: int
    offset: int
    key: str
    seq: int


def check_table_join(inputs: Iterable[table_update], outputs: Iterable[join_output], *, delivery: str) -> dict:
    """Compares a table-table outer join's results with its updates (see the module's text); the
    same report as check() (groups: keys with updates; groups_ok: those whose results are exactly
    one walk through all of them)."""
    found = _problem_log()
    note = found.note

    # key -> side -> seq -> its number among the key's updates of that side (1, 2, ...)
    numbers: dict[str, dict[str, dict[int, int]]] = {}
    for r in sorted(inputs, key=lambda u: (u.side, u.partition, u.offset)):
        side = numbers.setdefault(r.key, {"left": {}, "right": {}})[r.side]
        side[r.seq] = len(side) + 1

    by_key: dict[str, list[join_output]] = {}
    outputs_total = 0
    for o in outputs:
        outputs_total += 1
        sides = numbers.get(o.key) if o.key is not None else None
        if sides is None or (o.left_seq is None and o.right_seq is None) \
                or (o.left_seq is not None and o.left_seq not in sides["left"]) \
                or (o.right_seq is not None and o.right_seq not in sides["right"]):
            note("malformed", 1, {"partition": o.partition, "offset": o.offset, "key": o.key,
                                  "left": o.left_seq, "right": o.right_seq})
            continue
        by_key.setdefault(o.key, []).append(o)

    keys_ok = 0
    for key, sides in numbers.items():
        results = sorted(by_key.get(key, []), key=lambda o: (o.partition, o.offset))
        end = (len(sides["left"]), len(sides["right"]))
        if not results:
            note("missing_groups", 1, {"key": key})
            note("lost", end[0] + end[1], {"key": key, "updates": list(end)})
            continue
        if len({o.partition for o in results}) > 1:
            note("split_partitions", 1, {"key": key, "partitions": sorted({o.partition for o in results})})
        problems_before = sum(found.counts.values())
        seen: set[tuple[int, int]] = set()
        at = (0, 0)
        for o in results:
            state = (sides["left"].get(o.left_seq, 0), sides["right"].get(o.right_seq, 0))
            example = {"key": key, "state": list(state), "after": list(at), "at": [o.partition, o.offset]}
            if state in seen:
                note("duplicated", 1, example)
                continue
            seen.add(state)
            if state[0] < at[0] or state[1] < at[1]:
                note("out_of_order", 1, example)
            else:
                note("lost", state[0] - at[0] + state[1] - at[1] - 1, example)
            at = state
        if at != end:
            note("final_mismatch", 1, {"key": key, "last": list(at), "updates": list(end)})
            note("lost", max(0, end[0] - at[0]) + max(0, end[1] - at[1]),
                 {"key": key, "last": list(at), "updates": list(end)})
        if sum(found.counts.values()) == problems_before:
            keys_ok += 1

    return found.report(delivery, expected_results=sum(len(s["left"]) + len(s["right"]) for s in numbers.values()),
                        outputs=outputs_total, groups=len(numbers), groups_ok=keys_ok)


def _ranges(values: list[int]) -> str:
    """[1, 2, 3, 7] -> '1-3,7' (the first few ranges)."""
    out: list[str] = []
    start = prev = values[0]
    for v in values[1:] + [None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        if v is not None:
            start = prev = v
    return ",".join(out[:10]) + (",..." if len(out) > 10 else "")


def reconcile(acknowledged: dict[tuple, int], in_topic: dict[tuple, int],
              failed_sends: set[int]) -> dict:
    """Acknowledged sends ((partition, offset) -> seq, from the producer's callbacks) against what
    the input topic holds ((partition, offset) -> seq, read back). Every acknowledged record must
    be there (else the cluster lost an acknowledged write: acks=all); a record there that was not
    acknowledged is a send the producer saw fail although the broker wrote it (an ambiguous
    outcome). The pipeline saw what the topic holds, so that is what the check expects."""
    missing = [pos for pos, seq in acknowledged.items() if in_topic.get(pos) != seq]
    acked_seqs = set(acknowledged.values())
    unacked_written = [pos for pos, seq in in_topic.items() if seq not in acked_seqs]
    return {
        "acknowledged": len(acknowledged),
        "in_topic": len(in_topic),
        "acknowledged_missing_from_topic": len(missing),
        "written_without_ack": len(unacked_written),
        "written_without_ack_known_failed": sum(1 for pos in unacked_written if in_topic[pos] in failed_sends),
        "examples_missing": [list(p) for p in missing[:EXAMPLES_PER_PROBLEM]],
    }
