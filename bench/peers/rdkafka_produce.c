/* librdkafka producer driver: sends --records copies of one --size-byte payload (no key, so the
 * sticky partitioner spreads batches over the partitions) and waits for every delivery report.
 * The clock runs from the first produce call to the end of rd_kafka_flush(). Everything but the
 * scenario's settings (acks, compression, idempotence, and batch size if given) is librdkafka's
 * default.
 *
 * --transaction-ms M: transactional (a transactional id of its own), committing the open
 * transaction every M ms and at the end; the clock stops when the last commit returns.
 * --rate R: after one warm-up record (delivered before the clock starts, not counted), sends R
 * records per second (every record due by now, waking at most once a millisecond) and takes each
 * record's time from the produce call to its delivery report. */
#include "driver_common.h"

#include <librdkafka/rdkafka.h>

static long long delivered_ok = 0;
static long long delivery_errors = 0;
/* Fixed-rate runs: each record's send time (indexed by its _private opaque) and latency. */
static double *sent_at = NULL;
static double *latencies_ms = NULL;
static long long latency_count = 0;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *message, void *opaque) {
  (void)rk;
  (void)opaque;
  /* _private is the record's index + 1; the warm-up record has none. */
  if (sent_at && !message->err && message->_private) {
    latencies_ms[latency_count++] = (bench_now() - sent_at[(intptr_t)message->_private - 1]) * 1000.0;
  }
  if (!message->_private && sent_at) {
    if (message->err) {
      fprintf(stderr, "rdkafka_produce: warm-up record failed: %s\n", rd_kafka_err2str(message->err));
      exit(1);
    }
    return;
  }
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

static void check(rd_kafka_error_t *error, const char *what) {
  if (error) {
    fprintf(stderr, "rdkafka_produce: %s: %s\n", what, rd_kafka_error_string(error));
    exit(1);
  }
}

static int run_at_rate(rd_kafka_t *rk, struct bench_args args, const char *payload) {
  sent_at = malloc(sizeof(double) * (size_t)args.records);
  latencies_ms = malloc(sizeof(double) * (size_t)args.records);
  if (!sent_at || !latencies_ms) bench_die("out of memory");
  rd_kafka_resp_err_t warmup = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(args.topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                                 RD_KAFKA_V_VALUE((void *)payload, (size_t)args.size), RD_KAFKA_V_END);
  if (warmup || rd_kafka_flush(rk, 60 * 1000)) bench_die("the warm-up record was not delivered");
  double start = bench_now();
  for (long long i = 0; i < args.records;) {
    double now = bench_now();
    double due = start + (double)i / (double)args.rate;
    if (due > now) {
      /* Serving delivery reports is the wait: poll returns early for none of them. */
      int wait_ms = (int)((due - now) * 1000.0);
      rd_kafka_poll(rk, wait_ms < 1 ? 1 : wait_ms);
      continue;
    }
    for (; i < args.records && start + (double)i / (double)args.rate <= now; ++i) {
      sent_at[i] = bench_now();
      rd_kafka_resp_err_t err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(args.topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                                  RD_KAFKA_V_VALUE((void *)payload, (size_t)args.size),
                                                  RD_KAFKA_V_OPAQUE((void *)(intptr_t)(i + 1)), RD_KAFKA_V_END);
      if (err) {
        fprintf(stderr, "rdkafka_produce: produce failed: %s\n", rd_kafka_err2str(err));
        return 1;
      }
    }
    rd_kafka_poll(rk, 0);
  }
  rd_kafka_resp_err_t flushed = rd_kafka_flush(rk, 600 * 1000);
  double seconds = bench_now() - start;
  if (flushed) fprintf(stderr, "rdkafka_produce: flush: %s\n", rd_kafka_err2str(flushed));
  long long errors = delivery_errors + (args.records - delivered_ok - delivery_errors);
  bench_report_latency(delivered_ok, delivered_ok * args.size, seconds, errors, latencies_ms, latency_count);
  return errors == 0 ? 0 : 1;
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
  char transactional_id[512];
  if (args.transaction_ms) {
    snprintf(transactional_id, sizeof transactional_id, "rdkafka-bench-%s", args.topic);
    set(conf, "transactional.id", transactional_id);
  }
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  char error[512];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (!rk) {
    fprintf(stderr, "rdkafka_produce: %s\n", error);
    return 2;
  }
  if (args.rate) {
    int code = run_at_rate(rk, args, payload);
    rd_kafka_destroy(rk);
    free(payload);
    return code;
  }
  if (args.transaction_ms) check(rd_kafka_init_transactions(rk, 60 * 1000), "init_transactions");

  double start = bench_now();
  double transaction_start = start;
  if (args.transaction_ms) check(rd_kafka_begin_transaction(rk), "begin_transaction");
  for (long long i = 0; i < args.records;) {
    /* The clock is read once every 64 records: often enough for a 100 ms transaction. */
    if (args.transaction_ms && (i & 63) == 0 && (bench_now() - transaction_start) * 1000.0 >= (double)args.transaction_ms) {
      check(rd_kafka_commit_transaction(rk, -1), "commit_transaction");
      check(rd_kafka_begin_transaction(rk), "begin_transaction");
      transaction_start = bench_now();
    }
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
  /* Committing flushes first. */
  if (args.transaction_ms) check(rd_kafka_commit_transaction(rk, -1), "commit_transaction");
  rd_kafka_resp_err_t flushed = rd_kafka_flush(rk, 600 * 1000);
  double seconds = bench_now() - start;
  if (flushed) fprintf(stderr, "rdkafka_produce: flush: %s\n", rd_kafka_err2str(flushed));
  long long errors = delivery_errors + (args.records - delivered_ok - delivery_errors);
  bench_report(delivered_ok, delivered_ok * args.size, seconds, errors);
  rd_kafka_destroy(rk);
  free(payload);
  return errors == 0 ? 0 : 1;
}
