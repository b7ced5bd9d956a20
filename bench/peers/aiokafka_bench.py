"""aiokafka driver (produce | consume), same command line and report as every driver.

produce: sends --records copies of one payload without a key (send() only queues; it waits when
the accumulator is full) and then flush(); the clock runs from the first send() to the end of
flush(). consume: assigns partitions 0..--partitions-1 from the beginning, no group, and calls
getmany() until --records records arrived; the clock runs from assign() to the last record.
Everything but the scenario's settings is aiokafka's default.

produce --transaction-ms M: transactional, committing every M ms and at the end. produce --rate R:
after one warm-up record (acknowledged before the clock starts, not counted), R records per second (every record due by now, waking at most once a millisecond), each record's
time from send() to its future's completion reported as percentiles. group: see group()."""
import asyncio
import sys

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor

from driver_common import (GROUP_TIMEOUT_S, ReadProgress, die, group_log, now, parse_args, payload, report,
                           report_latency)


async def produce(args):
    producer = AIOKafkaProducer(
        bootstrap_servers=args.bootstrap,
        acks="all" if args.acks == "all" else 1,
        compression_type=None if args.compression == "none" else args.compression,
        enable_idempotence=args.idempotence == "true",
        **({"max_batch_size": args.batch_size} if args.batch_size else {}),
        **({"transactional_id": f"aiokafka-bench-{args.topic}"} if args.transaction_ms else {}),
    )
    await producer.start()
    if args.rate:
        return await produce_at_rate(args, producer)
    value = payload(args.size)
    failures = []

    def done(future):
        if future.cancelled() or future.exception() is not None:
            if not failures:
                print(f"aiokafka produce: delivery failed: {future!r}", file=sys.stderr)
            failures.append(1)

    try:
        start = transaction_start = now()
        transactional = args.transaction_ms > 0
        if transactional:
            await producer.begin_transaction()
        for i in range(args.records):
            # The clock is read once every 64 records: often enough for a 100 ms transaction.
            if transactional and i % 64 == 0 and (now() - transaction_start) * 1000 >= args.transaction_ms:
                await producer.commit_transaction()
                await producer.begin_transaction()
                transaction_start = now()
            (await producer.send(args.topic, value=value)).add_done_callback(done)
        if transactional:
            await producer.commit_transaction()  # flushes first
        else:
            await producer.flush()
        seconds = now() - start
    finally:
        await producer.stop()
    ok = args.records - len(failures)
    return report(ok, ok * args.size, seconds, len(failures))


async def produce_at_rate(args, producer):
    value = payload(args.size)
    latencies = []
    failures = []

    def done(sent, future):
        if future.cancelled() or future.exception() is not None:
            if not failures:
                print(f"aiokafka produce: delivery failed: {future!r}", file=sys.stderr)
            failures.append(1)
        else:
            latencies.append((now() - sent) * 1000)

    try:
        # One warm-up record acknowledged before the clock starts, as ProducerPerformance's
        # --warmup-records 1.
        await (await producer.send(args.topic, value=value))
        start = now()
        i = 0
        while i < args.records:
            current = now()
            due = start + i / args.rate
            if due > current:
                await asyncio.sleep(max(due - current, 0.001))
                continue
            while i < args.records and start + i / args.rate <= current:
                sent = now()
                future = await producer.send(args.topic, value=value)
                future.add_done_callback(lambda f, sent=sent: done(sent, f))
                i += 1
        await producer.flush()
        await asyncio.sleep(0)  # the last futures' callbacks run on the next loop turn
        seconds = now() - start
    finally:
        await producer.stop()
    ok = args.records - len(failures)
    return report_latency(ok, ok * args.size, seconds, len(failures), latencies)


async def consume(args):
    consumer = AIOKafkaConsumer(
        bootstrap_servers=args.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level=args.isolation,
    )
    await consumer.start()
    try:
        start = now()
        consumer.assign([TopicPartition(args.topic, p) for p in range(args.partitions)])
        await consumer.seek_to_beginning()
        progress = ReadProgress("aiokafka consume", args.records)
        while progress.reading():
            progress.add(await consumer.getmany(timeout_ms=100))
        seconds = now() - start
    finally:
        await consumer.stop()
    return progress.report(seconds)


class listener(ConsumerRebalanceListener):
    def __init__(self, log, member):
        self.log, self.member = log, member

    async def on_partitions_revoked(self, revoked):
        self.log.note(self.member, "revoked", revoked)

    async def on_partitions_assigned(self, assigned):
        self.log.note(self.member, "assigned", assigned)


async def group(args):
    """Two members of one new group, each in a task calling getmany() all the time: A
    subscribes, gets its partitions, fetches for a second; B subscribes; until both own all
    partitions with B owning some. Prints every listener call with its time (bench/run.py
    computes the figures). Range assignor only: aiokafka has no cooperative protocol."""
    if not args.group:
        die("aiokafka group: --group is required")
    if args.assignor != "range":
        die("aiokafka group: aiokafka has no cooperative assignor")
    log = group_log()
    stop = asyncio.Event()

    def member():
        return AIOKafkaConsumer(bootstrap_servers=args.bootstrap, group_id=args.group, enable_auto_commit=False,
                                auto_offset_reset="earliest", partition_assignment_strategy=(RangePartitionAssignor,))

    async def poll(consumer):
        while not stop.is_set():
            await consumer.getmany(timeout_ms=20)

    async def wait_until(done):
        deadline = now() + GROUP_TIMEOUT_S
        while not done() and now() < deadline:
            await asyncio.sleep(0.001)
        return done()

    a, b = member(), member()
    await a.start()
    await b.start()
    tasks = []
    try:
        log.note("A", "subscribe")
        a.subscribe([args.topic], listener=listener(log, "A"))
        tasks.append(asyncio.create_task(poll(a)))
        settled = await wait_until(lambda: log.owned["A"])
        if settled:
            await asyncio.sleep(1)
            log.note("B", "subscribe")
            b.subscribe([args.topic], listener=listener(log, "B"))
            tasks.append(asyncio.create_task(poll(b)))
            settled = await wait_until(lambda: log.settled(args.partitions))
        if not settled:
            print("aiokafka group: the group did not settle within 90 s", file=sys.stderr)
        events = list(log.events)  # closing revokes again: not part of the measurement
        stop.set()
        await asyncio.gather(*tasks)
    finally:
        await b.stop()
        await a.stop()
    log.events = events
    return log.report(settled)


def main():
    args = parse_args(__doc__)
    return asyncio.run({"produce": produce, "consume": consume, "group": group}[args.mode](args))


if __name__ == "__main__":
    sys.exit(main())
