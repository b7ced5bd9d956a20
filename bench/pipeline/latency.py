"""End-to-end latency of the windowed count at a fixed input rate (bench/pipeline/README.md).

A writer sends records at a steady rate, each stamped with the wall clock when it is sent; a
reader reads the output `read_committed` as it appears. An output's count and window name the
input that caused it (exactly-once: one update per input), so its latency is the time the reader
saw it minus that input's timestamp. The first `WARMUP_S` seconds are not measured (joins, JIT).

The writer, the output reader and a second reader of the input run as three processes: in one
Python process they took turns on the GIL and the harness itself added tens of milliseconds.
The input reader measures that floor (input timestamp to the input record being read, the same
client on the same machine), reported as "harness floor" next to each system's figures.
"""
import gc
import json
import multiprocessing
import subprocess
import threading
import time
from collections import defaultdict

from confluent_kafka import Consumer, Producer, TopicPartition

import jobs
import systems

WARMUP_S = 10
KEYS = 10_000


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))]


class measurement:
    def __init__(self, kafka, input_topic, output_topic, rate, seconds):
        self.kafka, self.input_topic, self.output_topic = kafka, input_topic, output_topic
        self.rate, self.seconds = rate, seconds
        self.sent = {}            # (key, window start, n) -> send time (ms), measured records only
        self.latencies = []
        self.stop_reading = threading.Event()
        self.writer_behind_ms = 0

    def read(self):
        """The output as it becomes visible: (key, window, count, when seen) per record."""
        consumer = Consumer({"bootstrap.servers": self.kafka.bootstrap, "group.id": "sluice-bench-latency",
                             "enable.auto.commit": False, "isolation.level": "read_committed",
                             "fetch.wait.max.ms": 5})
        consumer.assign([TopicPartition(self.output_topic, p, 0) for p in self.kafka.partitions(self.output_topic)])
        seen = []
        while not self.stop_reading.is_set():
            for msg in consumer.consume(1000, 0.005):
                if msg.error() or msg.value() is None:
                    continue
                now = time.time() * 1000
                value = json.loads(msg.value())
                seen.append((msg.key().decode(), value["window_start"], value["count"], now))
        consumer.close()
        return seen

    def match(self, seen):
        for key, window, count, at in seen:
            sent = self.sent.get((key, window, count))
            if sent is not None:
                self.latencies.append(at - sent)


def write_input(bootstrap, topic, rate, seconds, measured_after_ms, sent_out, behind_out):
    """In its own process: sends the input at `rate`, then hands back the send times it measured;
    `measured_after_ms` tells the input reader where the measured part begins."""
    # Kafka's default linger (5 ms since 4.0): with 1 ms the broker handled five times the produce
    # requests and took more than a core of the two, which every system's tail then paid for.
    gc.disable()  # see measure()
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                         "enable.idempotence": True})
    total = rate * (WARMUP_S + seconds)
    measured_from = rate * WARMUP_S
    # Encoded before the clock starts, so that the writer's own CPU does not compete with the
    # system measured (json.dumps per record was a third of a core at 20,000 records/s).
    keys = [jobs.key_of(i, KEYS) for i in range(KEYS)]
    values = [json.dumps(jobs.value_of(i, KEYS), separators=(",", ":")) for i in range(total)]
    counts = defaultdict(int)
    sent = {}
    writer_behind_ms = 0
    started = time.time()
    measured_after_ms.value = int((started + WARMUP_S) * 1000)
    for i in range(total):
        due = started + i / rate
        now = time.time()
        if due > now:
            time.sleep(max(due - now, 0.001))  # waking at most once a millisecond, not per record
        else:
            writer_behind_ms = max(writer_behind_ms, (now - due) * 1000)
        ts = int(time.time() * 1000)
        key = keys[i % KEYS]
        window = jobs.window_start(ts)
        counts[(key, window)] += 1
        if i >= measured_from:
            sent[(key, window, counts[(key, window)])] = ts
        value = values[i]
        while True:
            try:
                producer.produce(topic, key=key, value=value, timestamp=ts)
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    producer.flush(60)
    sent_out.send(sent)
    behind_out.value = writer_behind_ms


def read_input_floor(bootstrap, topic, partitions, measured_after_ms, stop, out):
    """In its own process: how long after its timestamp each measured input record is read."""
    gc.disable()  # see measure()
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "sluice-bench-latency-floor",
                         "enable.auto.commit": False, "isolation.level": "read_committed",
                         "fetch.wait.max.ms": 5})
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    delays = []
    while not stop.is_set():
        for msg in consumer.consume(1000, 0.005):
            if not msg.error() and msg.timestamp()[1] >= measured_after_ms.value:
                delays.append(time.time() * 1000 - msg.timestamp()[1])
    consumer.close()
    out.send(sorted(delays))


def measure(kafka, m):
    """Runs the writer and the input reader in processes of their own and reads the output here
    until the writer is done and five more seconds passed."""
    # Every process here keeps hundreds of thousands of tuples; Python's cycle collector walked
    # them all now and then, a pause of its own in the middle of the measured figures. Nothing
    # here makes reference cycles, so it is off while measuring.
    gc.disable()
    spawn = multiprocessing.get_context("spawn")
    sent_in, sent_out = spawn.Pipe(duplex=False)
    floor_in, floor_out = spawn.Pipe(duplex=False)
    behind = spawn.Value("d", 0.0)
    measured_after = spawn.Value("q", 2**62)  # set by the writer when it starts
    stop_floor = spawn.Event()
    floor = spawn.Process(target=read_input_floor, args=(kafka.bootstrap, m.input_topic,
                                                         kafka.partitions(m.input_topic), measured_after,
                                                         stop_floor, floor_out))
    writer = spawn.Process(target=write_input, args=(kafka.bootstrap, m.input_topic, m.rate, m.seconds,
                                                      measured_after, sent_out, behind))
    floor.start()
    writer.start()
    output = []
    reader = threading.Thread(target=lambda: output.extend(m.read()))
    reader.start()
    m.sent = sent_in.recv()  # when the writer is done
    writer.join()
    time.sleep(5)  # the last inputs' outputs
    m.stop_reading.set()
    stop_floor.set()
    reader.join()
    floor_delays = floor_in.recv()
    floor.join()
    m.writer_behind_ms = behind.value
    m.match(output)
    gc.enable()
    return floor_delays


def run_all(kafka, args, sluice_bin, java_classes, scratch, log_dir, progress, stop):
    job = jobs.job("window", "exactly_once", "")
    result = {"job": "latency", "title": f"End-to-end latency at {args.latency_rate:,} records/s "
              "(tumbling window, count and sum, exactly-once, commit interval 100 ms)", "latency_rows": []}
    for name in ("Sluice", "Kafka Streams 4.3.1"):
        input_topic = f"bench-latency-in-{time.time_ns()}"
        output_topic = f"bench-latency-out-{time.time_ns()}"
        kafka.create_topic(input_topic, 4)
        kafka.create_topic(output_topic, 4)
        app = f"bench-latency-{name.split()[0].lower()}-{time.time_ns() % 10**8}"
        if name == "Sluice":
            launch = systems.sluice(sluice_bin, job, app, kafka.bootstrap, input_topic, output_topic, "", scratch)
        else:
            launch = systems.kafka_streams(java_classes, args.kafka_libs, args.java_log_config, job, app,
                                           kafka.bootstrap, input_topic, output_topic, "", scratch)
        progress(f"latency: {name} at {args.latency_rate:,} records/s for {WARMUP_S} + {args.latency_seconds} s")
        m = measurement(kafka, input_topic, output_topic, args.latency_rate, args.latency_seconds)
        with open(log_dir / f"latency-{name.split()[0].lower()}.log", "w") as log:
            process = subprocess.Popen(launch.argv, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                floor = measure(kafka, m)
                exited = process.poll()
            finally:
                stop(process, log)
        values = sorted(m.latencies)
        row = {"system": name, "rate": args.latency_rate, "measured": len(m.sent), "seen": len(values),
               "p50_ms": percentile(values, 50), "p99_ms": percentile(values, 99),
               "p999_ms": percentile(values, 99.9), "max_ms": values[-1] if values else None,
               "writer_behind_ms": round(m.writer_behind_ms, 1),
               "floor_p50_ms": percentile(floor, 50), "floor_p99_ms": percentile(floor, 99),
               "floor_p999_ms": percentile(floor, 99.9), "status": "ok"}
        if exited is not None:
            row["status"] = f"failed: exited with {exited}"
        elif len(values) != len(m.sent):
            row["status"] = f"failed: {len(m.sent) - len(values)} of {len(m.sent)} measured inputs had no output"
        progress(f"  → p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms, p99.9 {row['p999_ms']} ms ({row['status']})")
        result["latency_rows"].append(row)
    return result
