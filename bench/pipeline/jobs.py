"""The pipeline benchmark's input and what each job must output (bench/pipeline/README.md).

One generator makes the input every system reads, so the expected results are computed here, from
the same numbers, without reading anything back: record i has key "k%05d" % (i % keys), value
{"seq": i, "amount": (7 i) % 100, "group": "g%02d" % ((i % keys) % 50)} and an event time spread
evenly over the ten minutes before the run. Per key the event times grow, so no window ever sees a late record.
"""
from collections import defaultdict
from dataclasses import dataclass

# Event times start ten minutes before the run (run.py sets it): data older than the broker's
# time retention (7 days by default) would be deleted from the topics the apps create.
BASE_TIME_MS = 0
SPAN_MS = 600_000  # the input's event times cover ten minutes
WINDOW_MS = 60_000
SESSION_GAP_MS = 30_000
GROUPS = 50


@dataclass(frozen=True)
class job:
    name: str          # stateless | window | session | repartition | table | join
    guarantee: str     # exactly_once | at_least_once
    title: str

    @property
    def key(self):
        return f"{self.name}-{self.guarantee}"


JOBS = [
    job("stateless", "exactly_once", "Stateless transformation (filter + map), exactly-once"),
    job("window", "exactly_once", "Tumbling 1-minute window, count and sum per key, exactly-once"),
    job("window", "at_least_once", "Tumbling 1-minute window, count and sum per key, at-least-once"),
    job("session", "exactly_once", "Session windows (30 s gap), count and sum per key, exactly-once"),
    job("repartition", "exactly_once",
        "Repartition (select_key to 50 groups), then the tumbling window, exactly-once"),
    job("table", "exactly_once", "Table aggregation (count and sum per key, no window), exactly-once"),
    job("join", "exactly_once", "Stream-table left join (10,000 customers), exactly-once"),
]


def key_of(i, keys):
    return f"k{i % keys:05d}"


def value_of(i, keys):
    return {"seq": i, "amount": (7 * i) % 100, "group": f"g{(i % keys) % GROUPS:02d}"}


def time_of(i, records):
    return BASE_TIME_MS + i * SPAN_MS // records


def customer_of(k):
    return {"name": f"customer {k}", "tier": k % 3}


def window_start(ts):
    return ts - ts % WINDOW_MS


class expectation:
    """What a job's output must hold for `records` inputs over `keys` keys, and a check that
    compares an output (a list of (key, value) in log order, value None for a tombstone) with
    it. check() returns a list of problems, empty when the output is exact."""

    def __init__(self, name, guarantee, records, keys):
        self.name, self.guarantee, self.records, self.keys = name, guarantee, records, keys

    def groups(self):
        """(group key) -> [count, sum] for the aggregating jobs."""
        groups = defaultdict(lambda: [0, 0])
        last_time = {}
        session_start = {}
        for i in range(self.records):
            key, value, ts = key_of(i, self.keys), value_of(i, self.keys), time_of(i, self.records)
            if self.name == "window":
                group = (key, window_start(ts))
            elif self.name == "repartition":
                group = (value["group"], window_start(ts))
            elif self.name == "session":
                if key not in last_time or ts - last_time[key] > SESSION_GAP_MS:
                    session_start[key] = ts
                last_time[key] = ts
                group = (key, session_start[key])
            else:  # table
                group = key
            groups[group][0] += 1
            groups[group][1] += value["amount"]
        return groups

    def check(self, outputs):
        if self.name == "stateless":
            return self._check_stateless(outputs)
        if self.name == "join":
            return self._check_join(outputs)
        return self._check_aggregates(outputs)

    def _check_stateless(self, outputs):
        expected = {i: value_of(i, self.keys)["amount"] * 100 for i in range(self.records)
                    if value_of(i, self.keys)["amount"] >= 10}
        return _check_once_each(outputs, expected, lambda v: v["seq"], lambda v: v["cents"], "seq")

    def _check_join(self, outputs):
        expected = {i: customer_of(i % self.keys)["name"] for i in range(self.records)}
        return _check_once_each(outputs, expected, lambda v: v["seq"],
                                lambda v: (v.get("customer") or {}).get("name"), "order")

    def _check_aggregates(self, outputs):
        expected = self.groups()
        seen = {}
        updates = 0
        problems = []
        for key, value in outputs:
            if value is None:
                continue  # Kafka Streams deletes a session's old window before it writes the grown one
            updates += 1
            group = key if self.name == "table" else (key, value["window_start"])
            count = value["count"]
            previous = seen.get(group, (0, 0))[0]
            if self.guarantee == "exactly_once" and count != previous + 1 and len(problems) < 5:
                problems.append(f"{group}: count {count} after {previous} (exactly-once emits every count once)")
            seen[group] = (count, value["sum"])
        for group, (count, total) in expected.items():
            got = seen.get(group)
            if got != (count, total) and len(problems) < 10:
                problems.append(f"{group}: last result {got}, expected {(count, total)}")
        extra = set(seen) - set(expected)
        if extra:
            problems.append(f"{len(extra)} unexpected groups, e.g. {sorted(extra)[:3]}")
        if self.guarantee == "exactly_once" and updates != self.records:
            problems.append(f"{updates} updates for {self.records} inputs (exactly-once: one each)")
        return problems


def _check_once_each(outputs, expected, seq_of, field_of, what):
    problems = []
    seen = set()
    for _, value in outputs:
        seq = seq_of(value)
        if seq in seen:
            if len(problems) < 5:
                problems.append(f"{what} {seq} emitted twice")
            continue
        seen.add(seq)
        if expected.get(seq) != field_of(value) and len(problems) < 10:
            problems.append(f"{what} {seq}: {field_of(value)!r}, expected {expected.get(seq)!r}")
    missing = set(expected) - seen
    if missing:
        problems.append(f"{len(missing)} of {len(expected)} {what}s missing, e.g. {sorted(missing)[:3]}")
    return problems
