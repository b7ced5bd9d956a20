"""The chaos harness's stream-stream join scenarios (stream_join: inner, stream_join_outer): the
pipeline, the records the producer writes to the two input streams, those that close every
window at the end, and the translation of what the topics hold into chaos_check's join records.

Orders (the main stream) and payments (the joined stream) are co-partitioned topics keyed by a
unique order id, written by one producer at a steady rate. Of every 100 orders about 90 get one
payment at most a quarter of the join window away, before or after (a payment stamped before its
order is also sent before it), 4 a payment stamped more than the window before them (it must not
join), 3 no payment and 3 are a payment without an order. The check (chaos_check.check_join)
expects exactly the pairs the topics make.

Why the outer variant stays exact: a left or outer join emits a record's null result when stream
time (the largest timestamp its task has seen) passes its timestamp + within + grace. Event times
follow the wall clock, payments are at most within/4 ahead of it, and grace is longer than any
delay the faults cause, so no window closes while the producer runs; after the instances drained,
the harness writes one record per partition of each topic far enough ahead to close every
window, and drains again. So every null result is decided by the input alone, not by when a
record happened to be fetched.
"""

from __future__ import annotations

import json
import random
import time
from typing import Callable

from kafka import KafkaProducer

from chaos_check import join_input, join_output

WITHIN_MS = 120_000
GRACE_MS = 300_000
JOIN_MEMBER = "payment"


def pipeline_yaml(*, scenario_name: str, kind: str, name: str, delivery: str, commit_interval: str,
                  orders_topic: str, payments_topic: str, output_topic: str) -> str:
    return "\n".join([
        f"# Written by tests/chaos/chaos_run.py for scenario '{scenario_name}'.",
        f"name: {name}",
        f"delivery: {delivery}",
        f"commit_interval: {commit_interval}",
        "sources:",
        f"  - topic: {orders_topic}",
        "    key_format: string",
        "    value_format: json",
        "streams:",
        "  - name: payments",
        f"    topic: {payments_topic}",
        "    key_format: string",
        "    value_format: json",
        "steps:",
        f"  - join: {{ stream: payments, within: {WITHIN_MS // 1000}s, grace: {GRACE_MS // 1000}s, "
        f"type: {kind}, into: {JOIN_MEMBER} }}",
        "sink:",
        f"  topic: {output_topic}",
        "  key_format: string",
        "  value_format: json",
        "",
    ])


def orders_and_payments(rng: random.Random, orders_topic: str,
                        payments_topic: str) -> Callable[[], list[tuple[str, str, dict, int]]]:
    """chaos_topics' producer_thread source: each call makes the records of the next order id,
    (topic, key, value fields, event time) in the order they are sent."""
    order = 0

    def next_order() -> list[tuple[str, str, dict, int]]:
        nonlocal order
        key = f"o{order:08d}"
        order += 1
        now_ms = int(time.time() * 1000)
        draw = rng.random()
        if draw < 0.03:
            times = [(orders_topic, now_ms)]
        elif draw < 0.06:
            times = [(payments_topic, now_ms)]
        elif draw < 0.10:  # a payment too early to join
            times = [(payments_topic, now_ms - WITHIN_MS - rng.randint(5_000, 20_000)), (orders_topic, now_ms)]
        else:
            offset = rng.randint(-WITHIN_MS // 4, WITHIN_MS // 4)
            payment = (payments_topic, now_ms + offset)
            times = [payment, (orders_topic, now_ms)] if offset < 0 else [(orders_topic, now_ms), payment]
        return [(topic, key, {"order": key, "amount": rng.randint(1, 100)}, t) for topic, t in times]

    return next_order


def write_window_closers(bootstrap: str, topics: list[str], partitions: int, after_ms: int) -> int:
    """One record per partition of each topic, stamped after_ms + within + grace + 1 s and keyed
    so that it pairs with nothing: the task's stream time then closes every window of the records
    before it. Returns their timestamp. Written after a drain, so they come after every record."""
    t = after_ms + WITHIN_MS + GRACE_MS + 1000
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                             max_block_ms=30000, client_id="chaos-window-closer")
    try:
        for topic in topics:
            for p in range(partitions):
                value = json.dumps({"seq": -1, "closer": True}).encode()
                producer.send(topic, key=f"closer-{topic}-{p}".encode(), value=value, partition=p,
                              timestamp_ms=t)
        producer.flush(timeout=120)
    finally:
        producer.close(timeout=30)
    return t


def join_inputs(raw: list, orders_topic: str) -> tuple[list[join_input], dict[tuple, int]]:
    """The records read back from both topics -> (join inputs, (topic, partition, offset) -> seq
    of the producer's records). A window closer has seq -1 and a seq of its own here (below
    every producer seq), as the check must see it: it moves stream time."""
    inputs, in_topic = [], {}
    closers = 0
    for r in raw:
        v = json.loads(r.value)
        seq = v["seq"]
        if seq < 0:
            closers += 1
            seq = -closers
        else:
            in_topic[(r.topic, r.partition, r.offset)] = seq
        side = "left" if r.topic == orders_topic else "right"
        inputs.append(join_input(side, r.partition, r.offset, r.key.decode(), r.timestamp, seq))
    return inputs, in_topic


def join_outputs(raw: list, member: str = JOIN_MEMBER) -> list[join_output]:
    """The join results read back: value = the left record (its seq) with `member` = the right
    record (or null); a right record without a left one gives {member: ...} alone. Here the
    order and `payment`; chaos_table_join's account and `owner` likewise. A record that is not
    such a value (a tombstone, say) has no key and no seqs."""
    outputs = []
    for r in raw:
        try:
            v = json.loads(r.value)
            key = r.key.decode() if r.key is not None else None
            right = v.get(member)
            outputs.append(join_output(r.partition, r.offset, key, v.get("seq"),
                                       right.get("seq") if isinstance(right, dict) else None))
        except (TypeError, ValueError, UnicodeDecodeError, AttributeError):
            outputs.append(join_output(r.partition, r.offset, None, None, None))
    return outputs
