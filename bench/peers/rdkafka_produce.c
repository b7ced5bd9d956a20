/* librdkafka producer driver: sends --records copies of one --size-byte payload (no key, so the
 * sticky partitioner spreads batches over the partitions) and waits for every delivery report.
 * The clock runs from the first produce call to the end of rd_kafka_flush(). Everything but the
 * scenario's settings (acks, compression, idempotence, and batch size if given) is librdkafka's
 * default. */
#include "driver_common.h"

#include <librdkafka/rdkafka.h>

static long long delivered_ok = 0;
static long long delivery_errors = 0;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *message, void *opaque) {
  (void)rk;
  (void)opaque;
  if (message->err) {
    if (delivery_errors == 0) fprintf(stderr, "rdkafka_produce: delivery failed: %s\n", rd_kafka_err2str(message->err));
    ++delivery_errors;
  } else {
    ++delivered_ok;
  }
}

static void set(rd_kafka_conf_t *conf, const char *name, const char *value) {
  char error[512];
  if (rd_kafka_conf_set(conf, name, value, error, sizeof error) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "rdkafka_produce: %s=%s: %s\n", name, value, error);
    exit(2);
  }
}

int main(int argc, char **argv) {
  struct bench_args args = bench_parse_args(argc, argv);
  char *payload = bench_payload(args.size);

  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", args.bootstrap);
  set(conf, "acks", args.acks);
  set(conf, "compression.codec", args.compression);
  set(conf, "enable.idempotence", args.idempotence ? "true" : "false");
  if (args.batch_size != 0) {
    char batch_size[32];
    snprintf(batch_size, sizeof batch_size, "%ld", args.batch_size);
    set(conf, "batch.size", batch_size);
  }
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  char error[512];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (!rk) {
    fprintf(stderr, "rdkafka_produce: %s\n", error);
    return 2;
  }

  double start = bench_now();
  for (long long i = 0; i < args.records;) {
    rd_kafka_resp_err_t err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(args.topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                                RD_KAFKA_V_VALUE(payload, (size_t)args.size), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      /* The local queue is full: serve delivery reports until there is room. */
      rd_kafka_poll(rk, 10);
      continue;
    }
    if (err) {
      fprintf(stderr, "rdkafka_produce: produce failed: %s\n", rd_kafka_err2str(err));
      return 1;
    }
    ++i;
    if ((i & 1023) == 0) rd_kafka_poll(rk, 0);
  }
  rd_kafka_resp_err_t flushed = rd_kafka_flush(rk, 600 * 1000);
  double seconds = bench_now() - start;
  if (flushed) fprintf(stderr, "rdkafka_produce: flush: %s\n", rd_kafka_err2str(flushed));
  long long errors = delivery_errors + (args.records - delivered_ok - delivery_errors);
  bench_report(delivered_ok, delivered_ok * args.size, seconds, errors);
  rd_kafka_destroy(rk);
  free(payload);
  return errors == 0 ? 0 : 1;
}
