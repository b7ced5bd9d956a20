"""kafka-python driver (produce | consume), same command line and report as every driver.

produce: sends --records copies of one payload without a key and waits for every delivery
(flush); the clock runs from the first send() to the end of flush(). consume: assigns partitions
0..--partitions-1 from the beginning, no group, and polls until --records records arrived; the
clock runs from assign() to the last record. Everything but the scenario's settings is
kafka-python's default.

produce --transaction-ms M: transactional, committing every M ms and at the end. produce --rate R:
after one warm-up record (acknowledged before the clock starts, not counted), R records per second (every record due by now, waking at most once a millisecond), each record's
time from send() to its future's callback (run by the sender thread) reported as percentiles.
group: see group()."""
import sys

import threading
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor
from kafka.coordinator.assignors.range import RangePartitionAssignor

from driver_common import (GROUP_TIMEOUT_S, ReadProgress, die, group_log, now, parse_args, payload, report,
                           report_latency)


def produce(args):
    producer = KafkaProducer(
        bootstrap_servers=args.bootstrap,
        acks=-1 if args.acks == "all" else 1,
        compression_type=None if args.compression == "none" else args.compression,
        enable_idempotence=args.idempotence == "true",
        **({"batch_size": args.batch_size} if args.batch_size else {}),
        **({"transactional_id": f"kafka-python-bench-{args.topic}"} if args.transaction_ms else {}),
    )
    if args.rate:
        return produce_at_rate(args, producer)
    value = payload(args.size)
    failures = []

    def failed(error):
        if not failures:
            print(f"kafka_python produce: delivery failed: {error!r}", file=sys.stderr)
        failures.append(1)

    transactional = args.transaction_ms > 0
    if transactional:
        producer.init_transactions()
    start = transaction_start = now()
    if transactional:
        producer.begin_transaction()
    for i in range(args.records):
        # The clock is read once every 64 records: often enough for a 100 ms transaction.
        if transactional and i % 64 == 0 and (now() - transaction_start) * 1000 >= args.transaction_ms:
            producer.commit_transaction()
            producer.begin_transaction()
            transaction_start = now()
        producer.send(args.topic, value=value).add_errback(failed)
    if transactional:
        producer.commit_transaction()  # flushes first
    else:
        producer.flush()
    seconds = now() - start
    producer.close()
    ok = args.records - len(failures)
    return report(ok, ok * args.size, seconds, len(failures))


def produce_at_rate(args, producer):
    value = payload(args.size)
    latencies = []
    failures = []
    lock = threading.Lock()
    # One warm-up record acknowledged before the clock starts, as ProducerPerformance's
    # --warmup-records 1.
    producer.send(args.topic, value=value).get(timeout=60)

    def delivered(sent, _metadata):
        with lock:
            latencies.append((now() - sent) * 1000)

    def failed(error):
        with lock:
            if not failures:
                print(f"kafka_python produce: delivery failed: {error!r}", file=sys.stderr)
            failures.append(1)

    start = now()
    i = 0
    while i < args.records:
        current = now()
        due = start + i / args.rate
        if due > current:
            time.sleep(max(due - current, 0.001))
            continue
        while i < args.records and start + i / args.rate <= current:
            sent = now()
            future = producer.send(args.topic, value=value)
            future.add_callback(lambda metadata, sent=sent: delivered(sent, metadata))
            future.add_errback(failed)
            i += 1
    producer.flush()
    seconds = now() - start
    producer.close()
    with lock:
        ok = args.records - len(failures)
        return report_latency(ok, ok * args.size, seconds, len(failures), list(latencies))


def consume(args):
    consumer = KafkaConsumer(
        bootstrap_servers=args.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level=args.isolation,
    )
    start = now()
    consumer.assign([TopicPartition(args.topic, p) for p in range(args.partitions)])
    consumer.seek_to_beginning()
    progress = ReadProgress("kafka_python consume", args.records)
    while progress.reading():
        progress.add(consumer.poll(timeout_ms=100))
    seconds = now() - start
    consumer.close()
    return progress.report(seconds)


class listener(ConsumerRebalanceListener):
    def __init__(self, log, member):
        self.log, self.member = log, member

    def on_partitions_revoked(self, revoked):
        self.log.note(self.member, "revoked", revoked)

    def on_partitions_assigned(self, assigned):
        self.log.note(self.member, "assigned", assigned)

    def on_partitions_lost(self, lost):
        self.log.note(self.member, "lost", lost)


def group(args):
    """Two members of one new group, each polled by a thread of its own all the time (a
    KafkaConsumer is not for sharing between threads; one thread polling both in turn let one's
    join hold up the other's): A subscribes, gets its partitions and holds them unchanged for a
    second; B subscribes; until both own all partitions with B owning some. Prints every
    listener call with its time (bench/run.py computes the figures). Only the assignor is set
    (alone); the rest is kafka-python's default. Seen in some runs (threads or one process per
    member alike): a member stops taking part in the rebalance until its session times out
    (45 s); the run then fails (no settled group within 90 s) or bench/run.py rejects it."""
    if not args.group:
        die("kafka_python group: --group is required")
    assignor = CooperativeStickyAssignor if args.assignor == "cooperative-sticky" else RangePartitionAssignor
    log = group_log()
    lock = threading.Lock()  # the listeners run on the two polling threads
    stop = threading.Event()

    class locked_listener(listener):
        def on_partitions_revoked(self, revoked):
            with lock:
                super().on_partitions_revoked(revoked)

        def on_partitions_assigned(self, assigned):
            with lock:
                super().on_partitions_assigned(assigned)

        def on_partitions_lost(self, lost):
            with lock:
                super().on_partitions_lost(lost)

    def member(name):
        consumer = KafkaConsumer(bootstrap_servers=args.bootstrap, group_id=args.group, enable_auto_commit=False,
                                 auto_offset_reset="earliest", partition_assignment_strategy=(assignor,))

        def poll():
            with lock:
                log.note(name, "subscribe")
            consumer.subscribe([args.topic], listener=locked_listener(log, name))
            while not stop.is_set():
                consumer.poll(timeout_ms=20)
        return consumer, threading.Thread(target=poll, name=f"member-{name}")

    def wait_until(done):
        deadline = now() + GROUP_TIMEOUT_S
        while now() < deadline:
            with lock:
                if done():
                    return True
            time.sleep(0.001)
        return False

    (a, a_thread), (b, b_thread) = member("A"), member("B")
    # A topic created a moment ago may not be in the first metadata response; a member that
    # joins then gets nothing assigned. Wait until each member's metadata knows every partition,
    # before anything is timed.
    deadline = now() + GROUP_TIMEOUT_S
    for consumer in (a, b):
        while len(consumer.partitions_for_topic(args.topic) or ()) < args.partitions and now() < deadline:
            time.sleep(0.05)
    a_thread.start()
    settled = wait_until(lambda: log.owned["A"])
    # kafka-python 3.0 was seen to revoke again within a second of the first assignment (a rejoin)
    # and then hang in that rejoin until the session timed out: B subscribes only once A has held
    # its partitions unchanged for a second.
    while settled:
        with lock:
            events_before = len(log.events)
        time.sleep(1)
        with lock:
            if len(log.events) == events_before and log.owned["A"]:
                break
        settled = wait_until(lambda: log.owned["A"])
    if settled:
        b_thread.start()
        settled = wait_until(lambda: log.settled(args.partitions))
    if not settled:
        print("kafka_python group: the group did not settle within 90 s", file=sys.stderr)
    with lock:
        events = list(log.events)  # closing revokes again: not part of the measurement
    stop.set()
    for thread in (a_thread, b_thread):
        if thread.is_alive():
            thread.join()
    b.close()
    a.close()
    log.events = events
    return log.report(settled)


def main():
    args = parse_args(__doc__)
    return {"produce": produce, "consume": consume, "group": group}[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
