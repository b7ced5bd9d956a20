"""The pipeline benchmark's own Kafka traffic, through confluent-kafka (librdkafka): writing the
input, reading outputs back `read_committed`, and the group offsets that say when a system is
done. None of it goes through Sluice's client, so Sluice is checked by an independent reader."""
import json
import time

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import jobs
from jobs import customer_of, key_of, time_of, value_of


class cluster:
    def __init__(self, bootstrap):
        self.bootstrap = bootstrap
        self.admin = AdminClient({"bootstrap.servers": bootstrap})
        self.offsets = Consumer({"bootstrap.servers": bootstrap, "group.id": "sluice-bench-offsets",
                                 "enable.auto.commit": False, "isolation.level": "read_committed"})

    def create_topic(self, name, partitions):
        futures = self.admin.create_topics([NewTopic(name, partitions, 1)])
        futures[name].result(30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            topic = self.admin.list_topics(name, timeout=10).topics.get(name)
            if topic and len(topic.partitions) == partitions and all(p.leader >= 0 for p in topic.partitions.values()):
                return
            time.sleep(0.1)
        raise RuntimeError(f"topic {name}: not every partition has a leader after 30 s")

    def topics(self):
        return list(self.admin.list_topics(timeout=10).topics)

    def partitions(self, topic):
        meta = self.admin.list_topics(topic, timeout=10).topics.get(topic)
        if meta is None or meta.error is not None:
            return []
        return sorted(meta.partitions)

    def end_offsets(self, topic):
        """partition -> the last stable offset (read_committed high watermark)."""
        return {p: self.offsets.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in self.partitions(topic)}

    def committed(self, group):
        """(topic, partition) -> the group's committed offset."""
        request = [ConsumerGroupTopicPartitions(group)]
        try:
            result = self.admin.list_consumer_group_offsets(request)[group].result(10)
        except KafkaException:
            return {}
        return {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions if tp.offset >= 0}

    def write(self, topic, messages):
        """messages: (key, value dict or None, timestamp ms); returns how many were acknowledged."""
        acked = [0]
        failed = []

        def delivered(err, _msg):
            if err is None:
                acked[0] += 1
            else:
                failed.append(err)

        producer = Producer({"bootstrap.servers": self.bootstrap, "acks": "all", "linger.ms": 20,
                             "batch.size": 1_000_000, "enable.idempotence": True})
        for key, value, ts in messages:
            payload = None if value is None else json.dumps(value, separators=(",", ":"))
            while True:
                try:
                    producer.produce(topic, key=key, value=payload, timestamp=ts, on_delivery=delivered)
                    break
                except BufferError:
                    producer.poll(0.05)
            producer.poll(0)
        producer.flush(120)
        if failed:
            raise RuntimeError(f"writing {topic}: {len(failed)} records failed, first: {failed[0]}")
        return acked[0]

    def write_orders(self, topic, records, keys):
        return self.write(topic, ((key_of(i, keys), value_of(i, keys), time_of(i, records))
                                  for i in range(records)))

    def write_customers(self, topic, keys):
        # Before every order's time: as-of joins (Quix) and table joins agree.
        return self.write(topic, ((f"k{k:05d}", customer_of(k), jobs.BASE_TIME_MS - 1000) for k in range(keys)))

    def read(self, topic, timeout_s=300):
        """Every committed record of the topic up to its current last stable offset, as
        (key, value or None) in log order per partition."""
        ends = self.end_offsets(topic)
        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "sluice-bench-reader",
                             "enable.auto.commit": False, "isolation.level": "read_committed",
                             "fetch.max.bytes": 52428800})
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        left = {p: end for p, end in ends.items() if end > 0}
        outputs = []
        deadline = time.monotonic() + timeout_s
        try:
            while left and time.monotonic() < deadline:
                for msg in consumer.consume(10000, 1.0):
                    if msg.error():
                        continue
                    value = msg.value()
                    outputs.append((msg.key().decode() if msg.key() else None,
                                    None if value is None else json.loads(value)))
                    if msg.offset() + 1 >= left.get(msg.partition(), 0):
                        left.pop(msg.partition(), None)
                # Transaction markers are never delivered: a partition whose position passed its
                # end offset is done too.
                for p in list(left):
                    position = consumer.position([TopicPartition(topic, p)])[0].offset
                    if position >= left[p]:
                        left.pop(p)
        finally:
            consumer.close()
        if left:
            raise RuntimeError(f"reading {topic}: partitions {sorted(left)} not read to their end in {timeout_s} s")
        return outputs
