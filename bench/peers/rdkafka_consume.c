/* librdkafka consumer driver: assigns partitions 0..--partitions-1 of --topic from the beginning
 * (no group membership, no commits) and reads until --records records arrived. The clock runs
 * from the assignment to the last record. Everything but isolation.level is librdkafka's
 * default. */
#include "driver_common.h"

#include <librdkafka/rdkafka.h>

static void set(rd_kafka_conf_t *conf, const char *name, const char *value) {
  char error[512];
  if (rd_kafka_conf_set(conf, name, value, error, sizeof error) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "rdkafka_consume: %s=%s: %s\n", name, value, error);
    exit(2);
  }
}

int main(int argc, char **argv) {
  struct bench_args args = bench_parse_args(argc, argv);

  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", args.bootstrap);
  /* A group id is only a name here: partitions are assigned by hand and nothing is committed. */
  set(conf, "group.id", "sluice-bench-rdkafka");
  set(conf, "enable.auto.commit", "false");
  set(conf, "enable.auto.offset.store", "false");
  set(conf, "isolation.level", args.isolation);
  char error[512];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
  if (!rk) {
    fprintf(stderr, "rdkafka_consume: %s\n", error);
    return 2;
  }

  double start = bench_now();
  rd_kafka_topic_partition_list_t *partitions = rd_kafka_topic_partition_list_new(args.partitions);
  for (int p = 0; p < args.partitions; ++p)
    rd_kafka_topic_partition_list_add(partitions, args.topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_resp_err_t err = rd_kafka_assign(rk, partitions);
  rd_kafka_topic_partition_list_destroy(partitions);
  if (err) {
    fprintf(stderr, "rdkafka_consume: assign: %s\n", rd_kafka_err2str(err));
    return 1;
  }

  long long records = 0, bytes = 0, errors = 0;
  double last_progress = bench_now();
  while (records < args.records) {
    rd_kafka_message_t *message = rd_kafka_consumer_poll(rk, 100);
    if (!message) {
      if (bench_now() - last_progress > 60) {
        fprintf(stderr, "rdkafka_consume: no record for 60 s after %lld of %lld\n", records, args.records);
        errors = args.records - records;
        break;
      }
      continue;
    }
    if (message->err) {
      if (message->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        fprintf(stderr, "rdkafka_consume: %s\n", rd_kafka_message_errstr(message));
        ++errors;
      }
    } else {
      ++records;
      bytes += (long long)message->len;
      last_progress = bench_now();
    }
    rd_kafka_message_destroy(message);
  }
  double seconds = bench_now() - start;
  bench_report(records, bytes, seconds, errors);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return errors == 0 ? 0 : 1;
}
