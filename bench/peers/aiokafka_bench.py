"""aiokafka driver (produce | consume), same command line and report as every driver.

produce: sends --records copies of one payload without a key (send() only queues; it waits when
the accumulator is full) and then flush(); the clock runs from the first send() to the end of
flush(). consume: assigns partitions 0..--partitions-1 from the beginning, no group, and calls
getmany() until --records records arrived; the clock runs from assign() to the last record.
Everything but the scenario's settings is aiokafka's default."""
import asyncio
import sys

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from driver_common import now, parse_args, payload, report


async def produce(args):
    producer = AIOKafkaProducer(
        bootstrap_servers=args.bootstrap,
        acks="all" if args.acks == "all" else 1,
        compression_type=None if args.compression == "none" else args.compression,
        enable_idempotence=args.idempotence == "true",
        **({"max_batch_size": args.batch_size} if args.batch_size else {}),
    )
    await producer.start()
    value = payload(args.size)
    failures = []

    def done(future):
        if future.cancelled() or future.exception() is not None:
            if not failures:
                print(f"aiokafka produce: delivery failed: {future!r}", file=sys.stderr)
            failures.append(1)

    try:
        start = now()
        for _ in range(args.records):
            (await producer.send(args.topic, value=value)).add_done_callback(done)
        await producer.flush()
        seconds = now() - start
    finally:
        await producer.stop()
    ok = args.records - len(failures)
    return report(ok, ok * args.size, seconds, len(failures))


async def consume(args):
    consumer = AIOKafkaConsumer(
        bootstrap_servers=args.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level=args.isolation,
    )
    await consumer.start()
    records = nbytes = 0
    try:
        start = now()
        consumer.assign([TopicPartition(args.topic, p) for p in range(args.partitions)])
        await consumer.seek_to_beginning()
        last_progress = now()
        while records < args.records:
            batches = await consumer.getmany(timeout_ms=100)
            if not batches:
                if now() - last_progress > 60:
                    print(f"aiokafka consume: no record for 60 s after {records}", file=sys.stderr)
                    break
                continue
            for batch in batches.values():
                records += len(batch)
                for record in batch:
                    nbytes += len(record.value)
            last_progress = now()
        seconds = now() - start
    finally:
        await consumer.stop()
    return report(records, nbytes, seconds, max(0, args.records - records))


def main():
    args = parse_args(__doc__)
    return asyncio.run(produce(args) if args.mode == "produce" else consume(args))


if __name__ == "__main__":
    sys.exit(main())
