"""Conformance with Kafka Streams: the same table aggregation and the same stream-table left join,
run by Kafka Streams (StreamsConformance.java, exactly_once_v2, cache off) and by Sluice (two
pipelines in one `sluice run`, exactly_once) on the same input topics of one broker, must write
the same results: per key, the same sequence of table updates and the same sequence of joined
orders (read back with kafka-python, read_committed).

The input makes the join depend on time: customers are written first, then orders, then a
customer is renamed and another deleted (a tombstone), then more orders; every record has an
explicit timestamp, later ones larger, and both engines take a task's records in timestamp order.

    run.py --sluice PATH --bootstrap HOST:PORT --kafka-libs DIR --scratch DIR
Exit 0 when both agree and the results are the expected ones, 1 otherwise.
"""

import argparse
import json
import os
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


def produce(bootstrap: str, orders: str, customers: str) -> dict:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    t0 = int(time.time() * 1000) - 60_000
    sent = {"orders": 0, "customers": 0}

    def send(topic: str, key: str, value, ts: int) -> None:
        producer.send(topic, key=key.encode(), value=None if value is None else json.dumps(value, separators=(",", ":")).encode(),
                      timestamp_ms=ts)
        sent["orders" if topic == orders else "customers"] += 1

    for c in range(CUSTOMERS):
        send(customers, f"c{c}", {"name": f"customer {c}"}, t0 + c)
    for i in range(60):
        send(orders, f"c{i % 7}", {"id": i, "amount": i}, t0 + 1000 + i * 10)
    send(customers, "c1", {"name": "customer 1, renamed"}, t0 + 5000)
    send(customers, "c2", None, t0 + 5001)
    for i in range(60, 120):
        send(orders, f"c{i % 7}", {"id": i, "amount": i}, t0 + 6000 + i * 10)
    producer.flush()
    producer.close()
    return sent


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


def read_all(bootstrap: str, topic: str) -> dict[str, list]:
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
                by_key.setdefault(r.key.decode(), []).append(json.loads(r.value))
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
    return [table, join]


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
              for name in ("orders", "customers", "streams_table", "streams_join", "sluice_table", "sluice_join")}
    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap)
    admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in topics.values()])
    admin.close()
    sent = produce(args.bootstrap, topics["orders"], topics["customers"])

    streams_app = f"conformance-streams-{suffix}"
    files = pipeline_files(scratch, suffix, topics)
    logs = {name: open(scratch / f"{name}.log", "w") for name in ("streams", "sluice")}
    processes = {
        "streams": subprocess.Popen(["java", "-cp", classpath, "StreamsConformance", args.bootstrap, streams_app,
                                     str(scratch / "streams-state"), topics["orders"], topics["customers"],
                                     topics["streams_table"], topics["streams_join"]],
                                    stdout=logs["streams"], stderr=subprocess.STDOUT),
        "sluice": subprocess.Popen([args.sluice, "run", *map(str, files), "--bootstrap-server", args.bootstrap,
                                    "--state-dir", str(scratch / "sluice-state")],
                                   stdout=logs["sluice"], stderr=subprocess.STDOUT),
    }
    groups = {streams_app: [topics["orders"], topics["customers"]],
              f"conformance-sluice-table-{suffix}": [topics["orders"]],
              f"conformance-sluice-join-{suffix}": [topics["orders"], topics["customers"]]}
    try:
        caught_up = wait_committed(args.bootstrap, groups, 180)
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
    totals, names = expected(sent["orders"])
    failures = []
    if results["streams_table"] != results["sluice_table"]:
        failures.append("the table aggregation differs:\n  streams " + json.dumps(results["streams_table"])[:600]
                        + "\n  sluice  " + json.dumps(results["sluice_table"])[:600])
    if results["streams_join"] != results["sluice_join"]:
        for key in sorted(set(results["streams_join"]) | set(results["sluice_join"])):
            if results["streams_join"].get(key) != results["sluice_join"].get(key):
                failures.append(f"the join differs for {key}:\n  streams {results['streams_join'].get(key)}"
                                f"\n  sluice  {results['sluice_join'].get(key)}"[:800])
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
    print(f"conformance: Kafka Streams and Sluice agree: {updates} table updates over {len(totals)} keys and "
          f"{sent['orders']} joined orders ({sent['customers']} customer records, one renamed, one deleted)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
