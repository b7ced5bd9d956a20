"""The failover benchmark's Kafka traffic, through confluent-kafka (librdkafka), never through
Sluice's client: the preloaded state, the steady input during the measured phase, the watcher
that notes when each partition's outputs appear, and the exactness check of the output.

Key i is "f%07d" % i and always goes to input partition i % PARTITIONS (written with an explicit
partition), so every output's key says which input partition, which task, it came from. Values
are {"seq": n, "amount": n % 100}; the harness counts what it wrote per key, so the expected
count and sum of every key are known without reading the input back."""
import json
import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition

PARTITIONS = 4


def key_of(i):
    return f"f{i:07d}"


def partition_of_key(key):
    return int(key[1:]) % PARTITIONS


class input_log:
    """What has been written to the input topic: per key index [count, sum], and the total."""

    def __init__(self, bootstrap, topic, keys):
        self.bootstrap, self.topic, self.keys = bootstrap, topic, keys
        self.counts = [0] * keys
        self.sums = [0] * keys
        self.written = 0
        self._producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                                   "batch.size": 1_000_000, "enable.idempotence": True})
        self._failed = []

    def _delivered(self, err, _msg):
        if err is not None:
            self._failed.append(err)

    def send(self, i):
        """One more update of key i (the next sequence number)."""
        seq = self.written
        amount = seq % 100
        payload = json.dumps({"seq": seq, "amount": amount}, separators=(",", ":"))
        while True:
            try:
                self._producer.produce(self.topic, key=key_of(i), value=payload, partition=i % PARTITIONS,
                                       on_delivery=self._delivered)
                break
            except BufferError:
                self._producer.poll(0.05)
        self._producer.poll(0)
        self.counts[i] += 1
        self.sums[i] += amount
        self.written += 1

    def flush(self):
        self._producer.flush(120)
        if self._failed:
            raise RuntimeError(f"writing {self.topic}: {len(self._failed)} records failed, first: {self._failed[0]}")

    def preload(self):
        """One record for every key: the state the apps build before anything is measured."""
        for i in range(self.keys):
            self.send(i)
        self.flush()


class steady_input:
    """A thread that keeps updating keys (in turn, over all partitions) at `rate` records/s."""

    def __init__(self, log, rate):
        self.log, self.rate = log, rate
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._next_key = 0

    def start(self):
        self._thread.start()

    def _run(self):
        started = time.monotonic()
        sent = 0
        while not self._stop.is_set():
            due = int((time.monotonic() - started) * self.rate)
            while sent < due:
                self.log.send(self._next_key)
                self._next_key = (self._next_key + 7919) % self.log.keys  # a prime step: every partition in turn
                sent += 1
            time.sleep(0.005)

    def stop(self):
        self._stop.set()
        self._thread.join()
        self.log.flush()


class output_watcher:
    """A read_committed consumer of the output topic, from its current end, that notes the wall
    clock (time.time()) at which outputs of each input partition became visible to it."""

    def __init__(self, bootstrap, topic, start_offsets):
        self._consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "sluice-bench-failover-watcher",
                                   "enable.auto.commit": False, "isolation.level": "read_committed"})
        self._consumer.assign([TopicPartition(topic, p, o) for p, o in start_offsets.items()])
        self.arrivals = {p: [] for p in range(PARTITIONS)}  # input partition -> times outputs arrived
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            messages = self._consumer.consume(10000, 0.02)
            now = time.time()
            seen = {partition_of_key(m.key().decode()) for m in messages if not m.error() and m.key()}
            for p in seen:
                self.arrivals[p].append(now)

    def stop(self):
        self._stop.set()
        self._thread.join()
        self._consumer.close()


def longest_gap(times, since, until):
    """The longest time between consecutive outputs of a partition within [since, until] (the
    bounds count as outputs, so a partition silent to the end shows its whole silence), and when
    that gap ended."""
    points = [since] + [t for t in times if since < t < until] + [until]
    best = (0.0, since)
    for before, after in zip(points, points[1:]):
        if after - before > best[0]:
            best = (after - before, after)
    return best


def check_exact(kafka, output_topic, log):
    """Problems of the output against what was written: every key's last count and sum, and,
    exactly-once, every count 1..n once."""
    outputs = kafka.read(output_topic)
    previous = {}
    problems = []
    for key, value in outputs:
        count = value["count"]
        if count != previous.get(key, (0, 0))[0] + 1 and len(problems) < 5:
            problems.append(f"{key}: count {count} after {previous.get(key, (0, 0))[0]}")
        previous[key] = (count, value["sum"])
    for i in range(log.keys):
        got = previous.get(key_of(i))
        if got != (log.counts[i], log.sums[i]) and len(problems) < 10:
            problems.append(f"{key_of(i)}: last {got}, expected {(log.counts[i], log.sums[i])}")
    if len(outputs) != log.written:
        problems.append(f"{len(outputs)} updates for {log.written} inputs (exactly-once: one each)")
    return problems
