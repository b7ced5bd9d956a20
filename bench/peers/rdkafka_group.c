/* librdkafka group driver: two members of one new consumer group (classic protocol,
 * partition.assignment.strategy = --assignor alone: "range" is eager, "cooperative-sticky"
 * incremental, KIP-429) in one process. Member A subscribes to --topic, gets its partitions and
 * polls for a second; then member B subscribes; the driver polls both (5 ms each, in turn) until
 * together they own all --partitions partitions with B owning some. Every rebalance callback is
 * printed with its CLOCK_MONOTONIC time; bench/run.py works out join times and pauses from them.
 * Everything but the assignor is librdkafka's default. */
#include "driver_common.h"

#include <librdkafka/rdkafka.h>

#define MAX_EVENTS 64
#define MAX_PARTITIONS 64

struct event {
  char member;
  const char *kind; /* subscribe, assigned, revoked, lost */
  double t;
  int count;
  int partitions[MAX_PARTITIONS];
};

static struct event events[MAX_EVENTS];
static int event_count = 0;

struct member {
  char name;
  int owned[MAX_PARTITIONS]; /* 1 where the member owns the partition */
};

static int owned_count(const struct member *m) {
  int n = 0;
  for (int p = 0; p < MAX_PARTITIONS; ++p) n += m->owned[p];
  return n;
}

static void note(char member, const char *kind, const rd_kafka_topic_partition_list_t *parts) {
  if (event_count == MAX_EVENTS) bench_die("too many rebalance events");
  struct event *e = &events[event_count++];
  e->member = member;
  e->kind = kind;
  e->t = bench_now();
  e->count = 0;
  for (int i = 0; parts && i < parts->cnt && i < MAX_PARTITIONS; ++i) e->partitions[e->count++] = parts->elems[i].partition;
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts, void *opaque) {
  struct member *m = opaque;
  int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  rd_kafka_error_t *error = NULL;
  rd_kafka_resp_err_t assign_err = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    note(m->name, "assigned", parts);
    for (int i = 0; i < parts->cnt; ++i)
      if (parts->elems[i].partition < MAX_PARTITIONS) m->owned[parts->elems[i].partition] = 1;
    if (cooperative) error = rd_kafka_incremental_assign(rk, parts);
    else assign_err = rd_kafka_assign(rk, parts);
  } else {
    note(m->name, rd_kafka_assignment_lost(rk) ? "lost" : "revoked", parts);
    for (int i = 0; i < parts->cnt; ++i)
      if (parts->elems[i].partition < MAX_PARTITIONS) m->owned[parts->elems[i].partition] = 0;
    if (cooperative) error = rd_kafka_incremental_unassign(rk, parts);
    else assign_err = rd_kafka_assign(rk, NULL);
  }
  if (error) {
    fprintf(stderr, "rdkafka_group: %s\n", rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
  }
  if (assign_err) fprintf(stderr, "rdkafka_group: assign: %s\n", rd_kafka_err2str(assign_err));
}

static void set(rd_kafka_conf_t *conf, const char *name, const char *value) {
  char error[512];
  if (rd_kafka_conf_set(conf, name, value, error, sizeof error) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "rdkafka_group: %s=%s: %s\n", name, value, error);
    exit(2);
  }
}

static rd_kafka_t *member_new(struct bench_args args, struct member *m) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", args.bootstrap);
  set(conf, "group.id", args.group);
  set(conf, "enable.auto.commit", "false");
  set(conf, "auto.offset.reset", "earliest");
  set(conf, "partition.assignment.strategy", args.assignor);
  rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
  rd_kafka_conf_set_opaque(conf, m);
  char error[512];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
  if (!rk) {
    fprintf(stderr, "rdkafka_group: %s\n", error);
    exit(2);
  }
  rd_kafka_poll_set_consumer(rk);
  return rk;
}

static void subscribe(rd_kafka_t *rk, struct member *m, const char *topic) {
  rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
  note(m->name, "subscribe", NULL);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err) {
    fprintf(stderr, "rdkafka_group: subscribe: %s\n", rd_kafka_err2str(err));
    exit(1);
  }
}

static void poll_once(rd_kafka_t *rk) {
  rd_kafka_message_t *message = rd_kafka_consumer_poll(rk, 5);
  if (message) rd_kafka_message_destroy(message);
}

int main(int argc, char **argv) {
  struct bench_args args = bench_parse_args(argc, argv);
  if (!args.group) bench_die("--group is required");
  if (args.partitions > MAX_PARTITIONS) bench_die("--partitions is at most 64");
  struct member a = {'A', {0}}, b = {'B', {0}};
  rd_kafka_t *ka = member_new(args, &a);
  rd_kafka_t *kb = member_new(args, &b);

  int settled = 0;
  subscribe(ka, &a, args.topic);
  double deadline = bench_now() + 90;
  while (owned_count(&a) == 0 && bench_now() < deadline) poll_once(ka);
  if (owned_count(&a) > 0) {
    double fetch_until = bench_now() + 1;
    while (bench_now() < fetch_until) poll_once(ka);
    subscribe(kb, &b, args.topic);
    deadline = bench_now() + 90;
    while (bench_now() < deadline) {
      poll_once(ka);
      poll_once(kb);
      if (owned_count(&b) > 0 && owned_count(&a) + owned_count(&b) == args.partitions) {
        settled = 1;
        break;
      }
    }
  }
  if (!settled) fprintf(stderr, "rdkafka_group: the group did not settle within 90 s\n");
  int recorded = event_count; /* closing revokes again: not part of the measurement */
  rd_kafka_consumer_close(kb);
  rd_kafka_consumer_close(ka);
  rd_kafka_destroy(kb);
  rd_kafka_destroy(ka);

  printf("{\"errors\": %d, \"events\": [", settled ? 0 : 1);
  for (int i = 0; i < recorded; ++i) {
    printf("%s{\"member\": \"%c\", \"event\": \"%s\", \"t\": %.6f, \"partitions\": [", i ? ", " : "", events[i].member,
           events[i].kind, events[i].t);
    for (int j = 0; j < events[i].count; ++j) printf("%s%d", j ? ", " : "", events[i].partitions[j]);
    printf("]}");
  }
  printf("]}\n");
  return settled ? 0 : 1;
}
