/* What every benchmark driver shares, so that all clients measure the same thing the same way
 * (see bench/README.md): the command line, the payload, the clock and the one-line JSON report
 * that bench/run.py parses. */
#pragma once

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct bench_args {
  const char* bootstrap;
  const char* topic;
  long long records;
  long size;               /* produce: bytes per record value */
  const char* acks;        /* produce: "1" or "all" */
  const char* compression; /* produce: "none" or "lz4" */
  int idempotence;         /* produce: 0 or 1 */
  long batch_size;         /* produce: batch.size in bytes; 0 = the client's default */
  int partitions;          /* consume: partitions 0..partitions-1 are assigned */
  const char* isolation;   /* consume: "read_uncommitted" or "read_committed" */
  long long rate; /* produce: records/s at a fixed rate, per-record latency; 0 = flat out */
  long long transaction_ms; /* produce: transactional, commit every this many ms; 0 = none */
  const char* group;        /* group: the group id */
  const char* assignor;     /* group: "range" (eager) or "cooperative-sticky" */
};

static inline void bench_die(const char* what) {
  fprintf(stderr, "bench driver: %s\n", what);
  exit(2);
}

static inline long long bench_parse_int(const char* option, const char* text, long long min) {
  char* end = NULL;
  errno = 0;
  long long value = strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < min) {
    fprintf(stderr, "bench driver: %s needs an integer >= %lld, not '%s'\n", option, min, text);
    exit(2);
  }
  return value;
}

/* --bootstrap B --topic T --records N [--size S --acks 1|all --compression none|lz4
 * --idempotence true|false --batch-size BYTES --rate R --transaction-ms M]
 * [--partitions P --isolation read_uncommitted|read_committed] [--group G --assignor
 * range|cooperative-sticky] */
static inline struct bench_args bench_parse_args(int argc, char** argv) {
  struct bench_args a = {NULL, NULL, 0,    100,    "all", "none", 1, 0, 1, "read_uncommitted",
                         0,    0,    NULL, "range"};
  for (int i = 1; i < argc; i += 2) {
    const char* option = argv[i];
    if (i + 1 >= argc) {
      fprintf(stderr, "bench driver: %s needs a value\n", option);
      exit(2);
    }
    const char* value = argv[i + 1];
    if (strcmp(option, "--bootstrap") == 0)
      a.bootstrap = value;
    else if (strcmp(option, "--topic") == 0)
      a.topic = value;
    else if (strcmp(option, "--records") == 0)
      a.records = bench_parse_int(option, value, 1);
    else if (strcmp(option, "--size") == 0)
      a.size = (long)bench_parse_int(option, value, 1);
    else if (strcmp(option, "--acks") == 0)
      a.acks = value;
    else if (strcmp(option, "--compression") == 0)
      a.compression = value;
    else if (strcmp(option, "--idempotence") == 0)
      a.idempotence = strcmp(value, "true") == 0;
    else if (strcmp(option, "--batch-size") == 0)
      a.batch_size = (long)bench_parse_int(option, value, 1);
    else if (strcmp(option, "--partitions") == 0)
      a.partitions = (int)bench_parse_int(option, value, 1);
    else if (strcmp(option, "--isolation") == 0)
      a.isolation = value;
    else if (strcmp(option, "--rate") == 0)
      a.rate = bench_parse_int(option, value, 1);
    else if (strcmp(option, "--transaction-ms") == 0)
      a.transaction_ms = bench_parse_int(option, value, 1);
    else if (strcmp(option, "--group") == 0)
      a.group = value;
    else if (strcmp(option, "--assignor") == 0)
      a.assignor = value;
    else {
      fprintf(stderr, "bench driver: unknown option '%s'\n", option);
      exit(2);
    }
  }
  if (!a.bootstrap || !a.topic || a.records == 0)
    bench_die("--bootstrap, --topic and --records are required");
  if (strcmp(a.acks, "1") != 0 && strcmp(a.acks, "all") != 0) bench_die("--acks must be 1 or all");
  if (strcmp(a.compression, "none") != 0 && strcmp(a.compression, "lz4") != 0)
    bench_die("--compression must be none or lz4");
  return a;
}

/* The payload every producer sends: `size` random upper-case letters, made once and reused for
 * every record, so compression sees the same data from every client (bench/run.py hands the same
 * bytes to Kafka's ProducerPerformance as its --payload-file). */
static inline char* bench_payload(long size) {
  char* payload = malloc((size_t)size);
  if (!payload) bench_die("out of memory");
  uint64_t state = 0x9E3779B97F4A7C15ull;
  for (long i = 0; i < size; ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    payload[i] = (char)('A' + (int)((state >> 33) % 26));
  }
  return payload;
}

static inline double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void bench_report(long long records, long long bytes, double seconds,
                                long long errors) {
  printf("{\"records\": %lld, \"bytes\": %lld, \"seconds\": %.6f, \"errors\": %lld}\n", records,
         bytes, seconds, errors);
  fflush(stdout);
}

/* The latency report of a fixed-rate run: nearest-rank percentiles of the send-to-acknowledgement
 * times in milliseconds (the same computation as driver_common.hpp and driver_common.py). */
static inline int bench_compare_doubles(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

static inline double bench_percentile(const double* sorted, long long n, double q) {
  if (n == 0) return 0.0;
  long long rank = (long long)ceil(q * (double)n);
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  return sorted[rank - 1];
}

static inline void bench_report_latency(long long records, long long bytes, double seconds,
                                        long long errors, double* latencies_ms, long long n) {
  qsort(latencies_ms, (size_t)n, sizeof *latencies_ms, bench_compare_doubles);
  printf(
      "{\"records\": %lld, \"bytes\": %lld, \"seconds\": %.6f, \"errors\": %lld, "
      "\"latency_ms\": {\"p50\": %.3f, \"p99\": %.3f, \"p999\": %.3f, \"max\": %.3f, \"count\": "
      "%lld}}\n",
      records, bytes, seconds, errors, bench_percentile(latencies_ms, n, 0.5),
      bench_percentile(latencies_ms, n, 0.99), bench_percentile(latencies_ms, n, 0.999),
      n ? latencies_ms[n - 1] : 0.0, n);
  fflush(stdout);
}
