"""What the chaos harness writes to and reads from Kafka: the input producer thread (a steady rate,
only acknowledged sends count as produced), reading a topic back to its end offsets, the output
monitor (how the output grows, and its longest stall during the faults) and the aggregation
results as chaos_check's records."""

from __future__ import annotations

import json
import random
import threading
import time
import traceback
from typing import Callable, Optional

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from chaos_check import output_record
from chaos_scenarios import GROUPS, KEYS, PARTITIONS, log


# --- the producer -----------------------------------------------------------------------------


# What a producer sends next: (topic, key, the value's fields after seq, event time) records.
record_source = Callable[[], list[tuple[str, str, dict, int]]]


class producer_thread(threading.Thread):
    """Writes JSON records at a steady rate (records per second, over every topic) and records
    what the cluster acknowledged. The records come from `source` (chaos_stream_join's orders and
    payments), by default one per step: {amount, group, src} under one of KEYS keys."""

    def __init__(self, bootstrap: str, topic: str, rate: float, rng: random.Random, time_offset_ms: int,
                 source: Optional[record_source] = None):
        super().__init__(name="chaos-producer", daemon=True)
        self.bootstrap, self.topic, self.rate = bootstrap, topic, rate
        self.rng = random.Random(rng.random())
        self.time_offset_ms = time_offset_ms
        self.source = source or self.keyed_record
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.records: list[tuple[str, int]] = []          # seq -> (topic, event time); index = seq
        self.max_t = 0                                     # the largest event time sent
        self.acked: dict[int, tuple[str, int, int]] = {}  # seq -> (topic, partition, offset)
        self.failed: dict[int, str] = {}                  # seq -> error, from the callback
        self.send_errors = 0                              # send() itself raised: never written
        self.error: Optional[str] = None
        self.started_at = self.stopped_at = 0.0

    def keyed_record(self) -> list[tuple[str, str, dict, int]]:
        key, group, amount = self.rng.randrange(KEYS), self.rng.randrange(GROUPS), self.rng.randint(1, 100)
        t = int(time.time() * 1000) + self.time_offset_ms
        return [(self.topic, f"k{key:03d}", {"amount": amount, "group": f"g{group:02d}", "src": f"k{key:03d}"}, t)]

    def acked_count(self) -> int:
        with self.lock:
            return len(self.acked)

    def run(self) -> None:
        try:
            self._run()
        except Exception:  # noqa: BLE001 - reported by the scenario
            self.error = traceback.format_exc()

    def _run(self) -> None:
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True,
                                 linger_ms=5, max_block_ms=30000, delivery_timeout_ms=120000,
                                 request_timeout_ms=30000, client_id="chaos-producer")

        def ok(seq: int, metadata) -> None:
            with self.lock:
                self.acked[seq] = (metadata.topic, metadata.partition, metadata.offset)

        def failed(seq: int, exc: BaseException) -> None:
            with self.lock:
                self.failed[seq] = repr(exc)

        self.started_at = time.time()
        start = time.monotonic()
        sent = 0
        while not self.stop_event.is_set():
            due = int((time.monotonic() - start) * self.rate)
            if due - sent > 2 * self.rate:
                sent = due - int(self.rate)  # after a blocked send(): no catch-up burst
            while sent < due and not self.stop_event.is_set():
                for topic, key, fields, t in self.source():
                    seq = len(self.records)
                    self.records.append((topic, t))
                    self.max_t = max(self.max_t, t)
                    value = json.dumps({"seq": seq, **fields}, separators=(",", ":")).encode()
                    try:
                        future = producer.send(topic, key=key.encode(), value=value, timestamp_ms=t)
                        future.add_callback(ok, seq)
                        future.add_errback(failed, seq)
                    except Exception as e:  # noqa: BLE001 - e.g. KafkaTimeoutError while a broker is down
                        self.send_errors += 1
                        with self.lock:
                            self.failed[seq] = f"send() raised: {e!r}"
                    sent += 1
            time.sleep(0.005)
        producer.flush(timeout=150)
        producer.close(timeout=30)
        self.stopped_at = time.time()


# --- reading topics ---------------------------------------------------------------------------


def end_offsets(consumer: KafkaConsumer, topic: str, partitions: int, timeout_ms: int = 10000) -> dict[int, int]:
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    return {tp.partition: off for tp, off in consumer.end_offsets(tps, timeout_ms=timeout_ms).items()}


def read_topic(bootstrap: str, topic: str, partitions: int, isolation: str, idle_s: float = 20):
    """Every record of topic from the start to the end offsets (the last stable offsets under
    read_committed). Returns (records, ends, complete)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, isolation_level=isolation,
                             enable_auto_commit=False, group_id=None, auto_offset_reset="earliest",
                             max_partition_fetch_bytes=4 << 20, fetch_max_bytes=32 << 20,
                             client_id=f"chaos-reader-{isolation}")
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = {tp.partition: off for tp, off in consumer.end_offsets(tps, timeout_ms=30000).items()}
        records = []
        last_progress = time.monotonic()
        while True:
            done = all(consumer.position(tp) >= ends[tp.partition] for tp in tps)
            if done:
                return records, ends, True
            batch = consumer.poll(timeout_ms=1000, max_records=20000)
            got = sum(len(v) for v in batch.values())
            for rs in batch.values():
                records.extend(rs)
            if got:
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > idle_s:
                positions = {tp.partition: consumer.position(tp) for tp in tps}
                log(f"reading {topic}: no progress for {idle_s:.0f}s at {positions}, ends {ends}")
                return records, ends, False
    finally:
        consumer.close()


class output_monitor(threading.Thread):
    """Samples the output topic's end offsets (last stable offsets) once a second: how the output
    grows, and the longest time an output partition did not while the producer ran. The sink
    partitions by key, so an output partition is fed by one task (one input partition; one
    repartition partition after a select_key): its stall is that task's time out of service."""

    def __init__(self, bootstrap: str, topic: str):
        super().__init__(name="chaos-monitor", daemon=True)
        self.bootstrap, self.topic = bootstrap, topic
        self.stop_event = threading.Event()
        self.samples: list[tuple[float, dict[int, int]]] = []
        self.lock = threading.Lock()
        self.errors = 0
        self.last_error = ""

    def run(self) -> None:
        consumer = None
        while not self.stop_event.is_set():
            try:
                if consumer is None:
                    consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None,
                                             isolation_level="read_committed", client_id="chaos-monitor")
                ends = end_offsets(consumer, self.topic, PARTITIONS, timeout_ms=3000)
                with self.lock:
                    self.samples.append((time.time(), ends))
            except Exception as e:  # noqa: BLE001 - a broker down: try again next second, with a
                # fresh client (a kafka-python client can keep failing after a broker restart)
                self.errors += 1
                self.last_error = repr(e)
                if consumer is not None:
                    try:
                        consumer.close()
                    except Exception:  # noqa: BLE001
                        pass
                    consumer = None
            self.stop_event.wait(1.0)
        if consumer is not None:
            consumer.close()

    def total(self) -> int:
        with self.lock:
            return sum(self.samples[-1][1].values()) if self.samples else 0

    def unchanged_for(self) -> float:
        """Seconds since the output last grew (any partition)."""
        with self.lock:
            if not self.samples:
                return 0.0
            last_t, last = self.samples[-1]
            since = last_t
            for t, v in reversed(self.samples):
                if v != last:
                    break
                since = t
            return last_t - since

    def longest_stall(self, start: float, end: float) -> dict:
        """The longest time in [start, end] that the whole output, and that one partition, did
        not grow (seconds, sampled once a second)."""
        with self.lock:
            samples = [(t, v) for t, v in self.samples if start <= t <= end]

        def stall(series):
            longest, since, previous = 0.0, None, None
            for t, v in series:
                if previous is not None and v == previous:
                    longest = max(longest, t - since)
                else:
                    since = t
                previous = v
            return round(longest, 1)

        per_partition = {p: stall([(t, v.get(p)) for t, v in samples]) for p in range(PARTITIONS)}
        return {"samples": len(samples), "sample_errors": self.errors, "last_sample_error": self.last_error,
                "whole_output_s": stall([(t, sum(v.values())) for t, v in samples]),
                "one_partition_s": max(per_partition.values(), default=0.0),
                "per_partition_s": per_partition}


def aggregate_outputs(raw: list) -> list[output_record]:
    """The aggregation results read back (a record that is no JSON object: no key, no count)."""
    outputs = []
    for r in raw:
        try:
            v = json.loads(r.value)
            key = r.key.decode() if r.key is not None else None
        except (ValueError, UnicodeDecodeError, AttributeError):
            v, key = {}, None
        outputs.append(output_record(r.partition, r.offset, key, v.get("window_start"), v.get("window_end"),
                                     v.get("records"), v.get("total"), v.get("max_seq")))
    return outputs
