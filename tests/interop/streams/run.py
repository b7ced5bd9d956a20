"""Conformance with Kafka Streams: the same table aggregation, the same stream-table left join, the
same stream-stream joins (inner, left, outer), the same table-table joins (inner, left, outer) and
the same aggregation of a table (accounts regrouped by region, count and sum with a subtractor) run
by Kafka Streams (StreamsConformance.java, exactly_once_v2, cache off) and by Sluice (nine pipelines
in one `sluice run`, exactly_once) on the same input topics of one broker, must write the same
results: per key, the same sequence of table updates, of joined orders, of stream-stream join
results and of table-table join results, and the same final table per region (read back with
kafka-python, read_committed). The regrouped table is compared by its final values: Kafka Streams
sends an update that keeps its region as one record and Sluice as a subtraction and an addition,
and the regions' updates from the two partitions interleave as they come.

The input makes the join depend on time: customers are written first, then orders, then a
customer is renamed and another deleted (a tombstone), then more orders; every record has an
explicit timestamp, later ones larger, and both engines take a task's records in timestamp order.
Payments (the joined stream) interleave with the orders (never at an order's timestamp), some for
keys without orders, then a run of out-of-order payments (late: partly behind the stores'
retention, emitted at once by left and outer joins), then more, and a last one far ahead that
closes every window still waiting. Accounts and owners (the two joined tables) get a seeded random
run of updates and deletes of a few keys, some behind the other table's latest timestamp (the
result takes the larger one), some deleting keys that are not there; each task takes them in
timestamp order, never two at one timestamp across the two topics.
    run.py --sluice PATH --bootstrap HOST:PORT --kafka-libs DIR --scratch DIR
Exit 0 when both agree and the results are the expected ones, 1 otherwise.
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError

PARTITIONS = 2
CUSTOMERS = 6  # c0..c5; orders also go to c6, which never exists: a left join gives null
WINDOW_MS = 100  # the stream-stream joins' time difference
GRACE_MS = 50
JOIN_KINDS = ("inner", "left", "outer")
TABLE_JOINS = tuple(f"table_{kind}" for kind in JOIN_KINDS)  # accounts with owners
TABLE_UPDATES = 240


def produce(bootstrap: str, orders: str, customers: str, payments: str) -> dict:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    t0 = int(time.time() * 1000) - 60_000
    sent = {"orders": 0, "customers": 0, "payments": 0}
    names = {orders: "orders", customers: "customers", payments: "payments"}

    def send(topic: str, key: str, value, ts: int) -> None:
        producer.send(topic, key=key.encode(), value=None if value is None else json.dumps(value, separators=(",", ":")).encode(),
                      timestamp_ms=ts)
        sent[names[topic]] += 1

    for c in range(CUSTOMERS):
        send(customers, f"c{c}", {"name": f"customer {c}"}, t0 + c)
    for i in range(60):
        send(orders, f"c{i % 7}", {"id": i, "amount": i}, t0 + 1000 + i * 10)
    send(customers, "c1", {"name": "customer 1, renamed"}, t0 + 5000)
    send(customers, "c2", None, t0 + 5001)
    for i in range(60, 120):
        send(orders, f"c{i % 7}", {"id": i, "amount": i}, t0 + 6000 + i * 10)
    # Orders are at t0 + a multiple of 10 ms, payments at t0 + 5 + a multiple of 10 ms: no ties.
    # Keys c7 and c8 have no orders (an outer join's payment-only results).
    for j in range(40):
        send(payments, f"c{j % 9}", {"payment": j}, t0 + 1005 + j * 20)
    for j in range(40, 50):  # out of order: up to 480 ms behind the payments before them
        send(payments, f"c{j % 9}", {"payment": j}, t0 + 1305 + (j - 40) * 20)
    for j in range(50, 80):
        send(payments, f"c{j % 9}", {"payment": j}, t0 + 6605 + (j - 50) * 20)
    for k in range(4):  # far ahead, on both partitions whatever the keys hash to
        send(payments, f"flush{k}", {"payment": "flush"}, t0 + 20_000 + k)
    producer.flush()
    producer.close()
    return sent


def produce_tables(bootstrap: str, accounts: str, owners: str) -> tuple[int, dict, dict]:
    """Updates and deletes of accounts and owners (keys a0..a5), in a seeded random order. Account
    timestamps end in 3, owner ones in 7 (no tie across the two topics); one update in six is up
    to 400 ms behind the ones before it. Each account is in region r0, r1 or r2 (by its id).
    Returns the number of updates, the final table of accounts per region (count and total of
    the ids of the accounts there at the end; a region that had any stays, at 0 once empty) and
    how often an account moved region or was deleted."""
    rng = random.Random(1207)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    t0 = int(time.time() * 1000) - 50_000
    latest: dict[str, dict] = {}
    regions: dict[str, dict] = {}
    changes = {"moves": 0, "deletes": 0}
    for i in range(TABLE_UPDATES):
        topic, offset = (accounts, 3) if rng.random() < 0.5 else (owners, 7)
        key = f"a{rng.randrange(6)}"
        value = None if rng.random() < 0.3 else (
            {"id": i, "region": f"r{i % 3}"} if topic == accounts else {"name": f"owner {i}"})
        behind = rng.randrange(1, 40) * 10 if rng.random() < 1 / 6 else 0
        producer.send(topic, key=key.encode(), timestamp_ms=t0 + i * 10 + offset - behind,
                      value=None if value is None else json.dumps(value, separators=(",", ":")).encode())
        if topic != accounts:
            continue
        old = latest.pop(key, None)
        if old is not None:
            r = regions[old["region"]]
            r["count"] -= 1
            r["total"] -= old["id"]
            if value is None:
                changes["deletes"] += 1
            elif value["region"] != old["region"]:
                changes["moves"] += 1
        if value is not None:
            latest[key] = value
            r = regions.setdefault(value["region"], {"count": 0, "total": 0})
            r["count"] += 1
            r["total"] += value["id"]
    producer.flush()
    producer.close()
    return TABLE_UPDATES, regions, changes


def end_offsets(bootstrap: str, topics: list[str]) -> dict:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    ends = consumer.end_offsets([TopicPartition(t, p) for t in topics for p in range(PARTITIONS)])
    consumer.close()
    return ends


def wait_committed(bootstrap: str, groups: dict[str, list[str]], deadline_s: float) -> bool:
    """Until each group's committed offsets reach the end of its input topics."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        ends = {g: end_offsets(bootstrap, topics) for g, topics in groups.items()}
        deadline = time.time() + deadline_s
        while time.time() < deadline:
            done = True
            for group, want in ends.items():
                try:
                    committed = admin.list_group_offsets({group: None}).get(group, {})
                except KafkaError as e:  # a fresh broker's coordinators move in first (NotCoordinator)
                    if not getattr(e, "retriable", False):
                        raise
                    committed = {}
                for tp, end in want.items():
                    c = committed.get(tp)
                    done = done and c is not None and c.offset >= end
            if done:
                return True
            time.sleep(1)
        return False
    finally:
        admin.close()


def read_all(bootstrap: str, topic: str, with_timestamps: bool = False) -> dict[str, list]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed",
                             auto_offset_reset="earliest", enable_auto_commit=False)
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    consumer.assign(tps)
    consumer.seek_to_beginning()
    ends = consumer.end_offsets(tps)
    by_key: dict[str, list] = {}
    idle = 0
    while any(consumer.position(tp) < ends[tp] for tp in tps) and idle < 20:
        batch = consumer.poll(timeout_ms=500)
        idle = 0 if batch else idle + 1
        for records in batch.values():
            for r in records:
                value = None if r.value is None else json.loads(r.value)  # None: a tombstone
                by_key.setdefault(r.key.decode(), []).append([value, r.timestamp] if with_timestamps else value)
    consumer.close()
    return by_key


def pipeline_files(scratch: Path, suffix: str, topics: dict) -> list[Path]:
    table = scratch / "table.yaml"
    table.write_text(f"""name: conformance-sluice-table-{suffix}
delivery: exactly_once
sources: [{{ topic: {topics['orders']} }}]
table:
  name: totals
  aggregate:
    - {{ name: count, function: count }}
    - {{ name: total, function: sum, expression: value.amount }}
sink: {{ topic: {topics['sluice_table']} }}
""")
    join = scratch / "join.yaml"
    join.write_text(f"""name: conformance-sluice-join-{suffix}
delivery: exactly_once
sources: [{{ topic: {topics['orders']} }}]
tables: [{{ name: customer, topic: {topics['customers']} }}]
steps:
  - join: {{ table: customer, type: left }}
sink: {{ topic: {topics['sluice_join']} }}
""")
    files = [table, join]
    for kind in JOIN_KINDS:
        stream_join = scratch / f"stream-join-{kind}.yaml"
        stream_join.write_text(f"""name: conformance-sluice-{kind}-{suffix}
delivery: exactly_once
sources: [{{ topic: {topics['orders']} }}]
streams: [{{ name: payment, topic: {topics['payments']} }}]
steps:
  - join: {{ stream: payment, within: {WINDOW_MS}ms, grace: {GRACE_MS}ms, type: {kind} }}
sink: {{ topic: {topics['sluice_' + kind]} }}
""")
        files.append(stream_join)
        table_join = scratch / f"table-join-{kind}.yaml"
        table_join.write_text(f"""name: conformance-sluice-table-{kind}-{suffix}
delivery: exactly_once
sources: [{{ topic: {topics['accounts']}, as: table }}]
tables: [{{ name: owner, topic: {topics['owners']} }}]
steps:
  - join: {{ table: owner, type: {kind} }}
sink: {{ topic: {topics['sluice_table_' + kind]} }}
""")
        files.append(table_join)
    regroup = scratch / "regroup.yaml"
    regroup.write_text(f"""name: conformance-sluice-regroup-{suffix}
delivery: exactly_once
sources: [{{ topic: {topics['accounts']}, as: table }}]
steps:
  - select_key: value.region
table:
  name: per-region
  aggregate:
    - {{ name: count, function: count }}
    - {{ name: total, function: sum, expression: value.id }}
sink: {{ topic: {topics['sluice_regroup']} }}
""")
    files.append(regroup)
    return files


def final_tables(bootstrap: str, topics: dict) -> dict[str, dict]:
    """Each engine's regrouped table: the last value per region."""
    return {engine: {k: v[-1] for k, v in read_all(bootstrap, topics[f"{engine}_regroup"]).items()}
            for engine in ("streams", "sluice")}


def wait_final_tables(bootstrap: str, topics: dict, want: dict, deadline_s: float) -> dict[str, dict]:
    """Until both engines' regrouped tables are `want` (the repartition topic's records come after
    the input's offsets are committed), or the deadline; the last tables read."""
    deadline = time.time() + deadline_s
    while True:
        tables = final_tables(bootstrap, topics)
        if all(t == want for t in tables.values()) or time.time() > deadline:
            return tables
        time.sleep(1)


def expected(sent_orders: int) -> tuple[dict, dict]:
    """What both must end with: the final count and total per key, and each key's joined names."""
    totals: dict[str, dict] = {}
    names: dict[str, list] = {}
    for i in range(sent_orders):
        key = f"c{i % 7}"
        t = totals.setdefault(key, {"count": 0, "total": 0})
        t["count"] += 1
        t["total"] += i
        c = i % 7
        if c >= CUSTOMERS or (c == 2 and i >= 60):
            name = None
        elif c == 1 and i >= 60:
            name = "customer 1, renamed"
        else:
            name = f"customer {c}"
        names.setdefault(key, []).append(name)
    return totals, names


def missing_results(results: dict, prefix: str, what: str, checks: list) -> list[str]:
    """Each check (kind, test, want): whether Sluice's results of `prefix + kind` must hold some
    value `test` accepts (want True) or none (want False); what is off, as failure messages."""
    def count(kind: str, test) -> int:
        return sum(1 for values in results[f"{prefix}{kind}"].values() for v, _ in values if test(v))
    return [f"the {kind} {what} has {'no' if want else 'some'} {test.__name__} results"
            for kind, test, want in checks if (count(kind, test) > 0) != want]


def stream_join_coverage(results: dict) -> list[str]:
    """The input must exercise what the comparison is about: joined pairs in every kind, unmatched
    orders in left and outer, unmatched payments in outer only."""
    def paired(v) -> bool:
        return "id" in v and v["payment"] is not None

    def order_only(v) -> bool:
        return "id" in v and v["payment"] is None

    def payment_only(v) -> bool:
        return "id" not in v
    return missing_results(results, "sluice_", "join", [
        ("inner", paired, True), ("inner", order_only, False), ("inner", payment_only, False),
        ("left", paired, True), ("left", order_only, True), ("left", payment_only, False),
        ("outer", paired, True), ("outer", order_only, True), ("outer", payment_only, True)])


def table_join_coverage(results: dict) -> list[str]:
    """Likewise for the table-table joins: joined pairs in every kind, accounts without an owner in
    left and outer, owners without an account in outer only, deletions (tombstones) in every
    kind."""
    def paired(v) -> bool:
        return v is not None and "id" in v and v["owner"] is not None

    def account_only(v) -> bool:
        return v is not None and "id" in v and v["owner"] is None

    def owner_only(v) -> bool:
        return v is not None and "id" not in v

    def deleted(v) -> bool:
        return v is None
    return missing_results(results, "sluice_table_", "table-table join", [
        ("inner", paired, True), ("inner", account_only, False), ("inner", owner_only, False),
        ("left", paired, True), ("left", account_only, True), ("left", owner_only, False),
        ("outer", paired, True), ("outer", account_only, True), ("outer", owner_only, True),
        *((kind, deleted, True) for kind in JOIN_KINDS)])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sluice", required=True)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--kafka-libs", required=True)
    parser.add_argument("--scratch", required=True)
    args = parser.parse_args()
    here = Path(__file__).resolve().parent
    scratch = Path(args.scratch)
    subprocess.run(["rm", "-rf", str(scratch)], check=True)
    (scratch / "classes").mkdir(parents=True)
    classpath = f"{scratch / 'classes'}:{args.kafka_libs}/*"
    subprocess.run(["javac", "-nowarn", "-d", str(scratch / "classes"), "-cp", f"{args.kafka_libs}/*",
                    str(here / "StreamsConformance.java")], check=True)

    suffix = f"{os.getpid()}-{int(time.time()) % 100000}"
    topics = {name: f"conformance-{name.replace('_', '-')}-{suffix}"
              for name in ("orders", "customers", "payments", "accounts", "owners", "streams_table",
                           "streams_join", "sluice_table", "sluice_join", "streams_regroup",
                           "sluice_regroup",
                           *(f"{engine}_{kind}" for engine in ("streams", "sluice")
                             for kind in (*JOIN_KINDS, *TABLE_JOINS)))}
    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap)
    admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in topics.values()])
    admin.close()
    sent = produce(args.bootstrap, topics["orders"], topics["customers"], topics["payments"])
    table_updates, regions, region_changes = produce_tables(args.bootstrap, topics["accounts"], topics["owners"])

    streams_app = f"conformance-streams-{suffix}"
    files = pipeline_files(scratch, suffix, topics)
    logs = {name: open(scratch / f"{name}.log", "w") for name in ("streams", "sluice")}
    groups = {streams_app: [topics["orders"], topics["customers"], topics["payments"], topics["accounts"],
                            topics["owners"]],
              f"conformance-sluice-table-{suffix}": [topics["orders"]],
              f"conformance-sluice-join-{suffix}": [topics["orders"], topics["customers"]],
              **{f"conformance-sluice-{k}-{suffix}": [topics["orders"], topics["payments"]] for k in JOIN_KINDS},
              **{f"conformance-sluice-table-{k}-{suffix}": [topics["accounts"], topics["owners"]] for k in JOIN_KINDS},
              f"conformance-sluice-regroup-{suffix}": [topics["accounts"]]}
    processes: dict[str, subprocess.Popen] = {}
    try:  # started inside: an engine that fails to start leaves none running
        processes["streams"] = subprocess.Popen(
            ["java", "-cp", classpath, "StreamsConformance", args.bootstrap, streams_app,
             str(scratch / "streams-state"), topics["orders"], topics["customers"], topics["streams_table"],
             topics["streams_join"], topics["payments"], str(WINDOW_MS), str(GRACE_MS),
             *(topics[f"streams_{k}"] for k in JOIN_KINDS), topics["accounts"], topics["owners"],
             *(topics[f"streams_{k}"] for k in TABLE_JOINS), topics["streams_regroup"]],
            stdout=logs["streams"], stderr=subprocess.STDOUT)
        processes["sluice"] = subprocess.Popen([args.sluice, "run", *map(str, files), "--bootstrap-server",
                                                args.bootstrap, "--state-dir", str(scratch / "sluice-state")],
                                               stdout=logs["sluice"], stderr=subprocess.STDOUT)
        caught_up = wait_committed(args.bootstrap, groups, 180)
        regrouped = wait_final_tables(args.bootstrap, topics, regions, 60 if caught_up else 0)
    finally:  # whatever happened, no engine outlives the check
        for p in processes.values():
            p.send_signal(signal.SIGTERM)
        for name, p in processes.items():
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                print(f"conformance: {name} did not stop within 60 s after SIGTERM")
    if not caught_up:
        print("FAIL not every group committed the end of its input within 180 s; logs in", scratch)
        return 1

    results = {name: read_all(args.bootstrap, topics[name])
               for name in ("streams_table", "streams_join", "sluice_table", "sluice_join")}
    # Stream-stream and table-table join results carry their timestamps too (the later of a pair,
    # an unmatched record's own): both must agree on them.
    results.update({f"{engine}_{kind}": read_all(args.bootstrap, topics[f"{engine}_{kind}"], with_timestamps=True)
                    for engine in ("streams", "sluice") for kind in (*JOIN_KINDS, *TABLE_JOINS)})
    totals, names = expected(sent["orders"])
    failures = []
    if results["streams_table"] != results["sluice_table"]:
        failures.append("the table aggregation differs:\n  streams " + json.dumps(results["streams_table"])[:600]
                        + "\n  sluice  " + json.dumps(results["sluice_table"])[:600])
    for join in ("join", *JOIN_KINDS, *TABLE_JOINS):
        theirs, ours = results[f"streams_{join}"], results[f"sluice_{join}"]
        for key in sorted(set(theirs) | set(ours)):
            if theirs.get(key) != ours.get(key):
                failures.append(f"the {join} join differs for {key}:\n  streams {theirs.get(key)}"
                                f"\n  sluice  {ours.get(key)}"[:1200])
    if regrouped["streams"] != regrouped["sluice"]:
        failures.append(f"the regrouped table differs:\n  streams {regrouped['streams']}\n  sluice  {regrouped['sluice']}")
    if regrouped["sluice"] != regions:
        failures.append(f"the regrouped table {regrouped['sluice']} != expected {regions}")
    if region_changes["moves"] == 0 or region_changes["deletes"] == 0:
        failures.append(f"the accounts never move region or are never deleted: {region_changes}")
    failures += stream_join_coverage(results)
    failures += table_join_coverage(results)
    final = {k: v[-1] for k, v in results["sluice_table"].items()}
    if final != totals:
        failures.append(f"final totals {final} != expected {totals}")
    joined = {k: [None if o["customer"] is None else o["customer"]["name"] for o in v]
              for k, v in results["sluice_join"].items()}
    if joined != names:
        failures.append(f"joined customers {joined} != expected {names}")
    for f in failures:
        print("FAIL", f)
    if failures:
        print("logs in", scratch)
        return 1
    updates = sum(len(v) for v in results["sluice_table"].values())
    stream_joins = ", ".join(f"{sum(len(v) for v in results['sluice_' + k].values())} {k}" for k in JOIN_KINDS)
    table_joins = ", ".join(f"{sum(len(v) for v in results['sluice_table_' + k].values())} {k}" for k in JOIN_KINDS)
    print(f"conformance: Kafka Streams and Sluice agree: {updates} table updates over {len(totals)} keys, "
          f"{sent['orders']} joined orders ({sent['customers']} customer records, one renamed, one deleted), "
          f"stream-stream join results of {sent['orders']} orders and {sent['payments']} payments: {stream_joins}, "
          f"table-table join results of {table_updates} account and owner updates: {table_joins}, "
          f"and the accounts per region ({region_changes['moves']} moves, {region_changes['deletes']} deletes): "
          f"{regrouped['sluice']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
