"""kafka-python driver (produce | consume), same command line and report as every driver.

produce: sends --records copies of one payload without a key and waits for every delivery
(flush); the clock runs from the first send() to the end of flush(). consume: assigns partitions
0..--partitions-1 from the beginning, no group, and polls until --records records arrived; the
clock runs from assign() to the last record. Everything but the scenario's settings is
kafka-python's default."""
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from driver_common import die, now, parse_args, payload, report


def produce(args):
    producer = KafkaProducer(
        bootstrap_servers=args.bootstrap,
        acks=-1 if args.acks == "all" else 1,
        compression_type=None if args.compression == "none" else args.compression,
        enable_idempotence=args.idempotence == "true",
        **({"batch_size": args.batch_size} if args.batch_size else {}),
    )
    value = payload(args.size)
    failures = []

    def failed(error):
        if not failures:
            print(f"kafka_python produce: delivery failed: {error!r}", file=sys.stderr)
        failures.append(1)

    start = now()
    for _ in range(args.records):
        producer.send(args.topic, value=value).add_errback(failed)
    producer.flush()
    seconds = now() - start
    producer.close()
    ok = args.records - len(failures)
    return report(ok, ok * args.size, seconds, len(failures))


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
    records = nbytes = 0
    last_progress = now()
    while records < args.records:
        batches = consumer.poll(timeout_ms=100)
        if not batches:
            if now() - last_progress > 60:
                print(f"kafka_python consume: no record for 60 s after {records}", file=sys.stderr)
                break
            continue
        for batch in batches.values():
            records += len(batch)
            for record in batch:
                nbytes += len(record.value)
        last_progress = now()
    seconds = now() - start
    consumer.close()
    return report(records, nbytes, seconds, max(0, args.records - records))


def main():
    args = parse_args(__doc__)
    return produce(args) if args.mode == "produce" else consume(args)


if __name__ == "__main__":
    sys.exit(main())
