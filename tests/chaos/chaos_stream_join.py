"""The chaos harness's stream-stream join scenarios (stream_join: inner, stream_join_outer): the
pipeline, the producer of the two input streams, the records that close every window at the
end, and the translation of what the topics hold into chaos_check's join records.

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
import threading
import time
import traceback
from typing import Optional

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


class pair_producer_thread(threading.Thread):
    """Writes orders and payments at a steady rate (records per second over both topics) and
    records what the cluster acknowledged: seq -> (topic, partition, offset). The same interface
    as chaos_run's producer_thread."""

    def __init__(self, bootstrap: str, orders_topic: str, payments_topic: str, rate: float,
                 rng: random.Random):
        super().__init__(name="chaos-pair-producer", daemon=True)
        self.bootstrap, self.rate = bootstrap, rate
        self.orders_topic, self.payments_topic = orders_topic, payments_topic
        self.rng = random.Random(rng.random())
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.records: list[tuple[str, int]] = []      # seq -> (topic, event time)
        self.acked: dict[int, tuple[str, int, int]] = {}
        self.failed: dict[int, str] = {}
        self.send_errors = 0
        self.error: Optional[str] = None
        self.started_at = self.stopped_at = 0.0
        self.max_t = 0

    def acked_count(self) -> int:
        with self.lock:
            return len(self.acked)

    def run(self) -> None:
        try:
            self._run()
        except Exception:  # noqa: BLE001 - reported by the scenario
            self.error = traceback.format_exc()

    def _pair(self, order: int, now_ms: int) -> list[tuple[str, int]]:
        """The (topic, event time) records of one order id, in the order they are sent."""
        draw = self.rng.random()
        if draw < 0.03:
            return [(self.orders_topic, now_ms)]
        if draw < 0.06:
            return [(self.payments_topic, now_ms)]
        if draw < 0.10:  # a payment too early to join
            return [(self.payments_topic, now_ms - WITHIN_MS - self.rng.randint(5_000, 20_000)),
                    (self.orders_topic, now_ms)]
        offset = self.rng.randint(-WITHIN_MS // 4, WITHIN_MS // 4)
        payment = (self.payments_topic, now_ms + offset)
        return [payment, (self.orders_topic, now_ms)] if offset < 0 else [(self.orders_topic, now_ms), payment]

    def _run(self) -> None:
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True,
                                 linger_ms=5, max_block_ms=30000, delivery_timeout_ms=120000,
                                 request_timeout_ms=30000, client_id="chaos-pair-producer")

        def ok(seq: int, metadata) -> None:
            with self.lock:
                self.acked[seq] = (metadata.topic, metadata.partition, metadata.offset)

        def failed(seq: int, exc: BaseException) -> None:
            with self.lock:
                self.failed[seq] = repr(exc)

        self.started_at = time.time()
        start = time.monotonic()
        sent = 0
        order = 0
        while not self.stop_event.is_set():
            due = int((time.monotonic() - start) * self.rate)
            if due - sent > 2 * self.rate:
                sent = due - int(self.rate)  # after a blocked send(): no catch-up burst
            while sent < due and not self.stop_event.is_set():
                key = f"o{order:08d}"
                for topic, t in self._pair(order, int(time.time() * 1000)):
                    seq = len(self.records)
                    self.records.append((topic, t))
                    self.max_t = max(self.max_t, t)
                    value = json.dumps({"seq": seq, "order": key, "amount": self.rng.randint(1, 100)},
                                       separators=(",", ":")).encode()
                    try:
                        future = producer.send(topic, key=key.encode(), value=value, timestamp_ms=t)
                        future.add_callback(ok, seq)
                        future.add_errback(failed, seq)
                    except Exception as e:  # noqa: BLE001 - e.g. KafkaTimeoutError while a broker is down
                        self.send_errors += 1
                        with self.lock:
                            self.failed[seq] = f"send() raised: {e!r}"
                    sent += 1
                order += 1
            time.sleep(0.005)
        producer.flush(timeout=150)
        producer.close(timeout=30)
        self.stopped_at = time.time()


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


def join_outputs(raw: list) -> list[join_output]:
    """The join results read back: value = the order (seq) with member `payment` = the payment
    (or null); a payment without an order gives {payment: ...} alone."""
    outputs = []
    for r in raw:
        try:
            v = json.loads(r.value)
            key = r.key.decode() if r.key is not None else None
            payment = v.get(JOIN_MEMBER)
            outputs.append(join_output(r.partition, r.offset, key, v.get("seq"),
                                       payment.get("seq") if isinstance(payment, dict) else None))
        except (ValueError, UnicodeDecodeError, AttributeError):
            outputs.append(join_output(r.partition, r.offset, None, None, None))
    return outputs
