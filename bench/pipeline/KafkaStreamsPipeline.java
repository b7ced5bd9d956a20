// Kafka Streams' side of the pipeline benchmark (bench/pipeline/README.md): the same jobs as the
// Sluice pipelines and the Quix Streams app, written with the Kafka Streams 4.3.1 DSL the way a
// user would (Jackson for JSON, String serdes), the record cache off so that every update is
// emitted, as Sluice and Quix emit them. One process, one stream thread (Sluice's loop is one
// thread too). Runs until SIGTERM, then closes cleanly.
//
// Input values: {"seq": i, "amount": a, "group": "g07"}, keyed by "k00042". Outputs:
//   stateless    filter amount >= 10, then {"seq", "cents": amount * 100}
//   window       tumbling 1 min (grace 1 h) count and sum(amount) per key, every update:
//                key "k00042", value {"window_start", "window_end", "count", "sum"}
//   session      session windows, gap 30 s (grace 1 h), the same value; a session that grows
//                first deletes its old window (a null value), as Kafka Streams does
//   repartition  selectKey(group), then the tumbling window
//   table        count and sum(amount) per key, no window: {"count", "sum"}
//   join         a left join with the customers table: the order plus "customer"
//
//   java -cp <kafka libs>/*:<classes> KafkaStreamsPipeline --bootstrap B --application-id A
//        --state-dir D --scenario S --guarantee exactly_once|at_least_once --input T --output O
//        [--table T] [--commit-interval-ms 100] [--standby-replicas N] [--session-timeout-ms MS]
//
// The last two are for the failover benchmark (bench/failover/), which runs several instances of
// the table job: num.standby.replicas and the consumer's session timeout (heartbeat a fifth of
// it, as Sluice's default). Each restore that ends prints "<epoch ms> restored <store> <partition>
// <records>" on stdout, which that benchmark reads.
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KGroupedStream;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.SessionWindows;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.processor.StateRestoreListener;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.SessionStore;
import org.apache.kafka.streams.state.WindowStore;

public final class KafkaStreamsPipeline {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration GRACE = Duration.ofHours(1);

  private static String option(String[] args, String name, String fallback) {
    for (int i = 0; i + 1 < args.length; i += 2) {
      if (args[i].equals(name)) return args[i + 1];
    }
    if (fallback == null) throw new IllegalArgumentException(name + " is required");
    return fallback;
  }

  private static JsonNode parse(String text) {
    try {
      return JSON.readTree(text);
    } catch (Exception e) {
      throw new IllegalArgumentException("not JSON: " + text, e);
    }
  }

  private static String write(JsonNode node) {
    try {
      return JSON.writeValueAsString(node);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  // count,sum as the aggregate's state: the same work per record as Sluice's two aggregations.
  private static String add(String aggregate, String order) {
    long amount = parse(order).get("amount").asLong();
    int comma = aggregate.indexOf(',');
    long count = Long.parseLong(aggregate.substring(0, comma)) + 1;
    long sum = Long.parseLong(aggregate.substring(comma + 1)) + amount;
    return count + "," + sum;
  }

  private static String mergeSessions(String a, String b) {
    int ca = a.indexOf(','), cb = b.indexOf(',');
    return (Long.parseLong(a.substring(0, ca)) + Long.parseLong(b.substring(0, cb))) + ","
        + (Long.parseLong(a.substring(ca + 1)) + Long.parseLong(b.substring(cb + 1)));
  }

  private static ObjectNode counts(String aggregate) {
    int comma = aggregate.indexOf(',');
    ObjectNode out = JSON.createObjectNode();
    out.put("count", Long.parseLong(aggregate.substring(0, comma)));
    out.put("sum", Long.parseLong(aggregate.substring(comma + 1)));
    return out;
  }

  private static KeyValue<String, String> windowed(Windowed<String> key, String aggregate) {
    if (aggregate == null) return KeyValue.pair(key.key(), null);
    ObjectNode out = JSON.createObjectNode();
    out.put("window_start", key.window().start());
    out.put("window_end", key.window().end());
    out.setAll(counts(aggregate));
    return KeyValue.pair(key.key(), write(out));
  }

  private static void tumbling(KGroupedStream<String, String> grouped, String output) {
    grouped
        .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMinutes(1), GRACE))
        .aggregate(() -> "0,0", (key, order, agg) -> add(agg, order),
            Materialized.<String, String, WindowStore<Bytes, byte[]>>with(Serdes.String(), Serdes.String()))
        .toStream()
        .map(KafkaStreamsPipeline::windowed)
        .to(output, Produced.with(Serdes.String(), Serdes.String()));
  }

  private static void build(StreamsBuilder builder, String scenario, String input, String output, String table) {
    KStream<String, String> orders = builder.stream(input);
    switch (scenario) {
      case "stateless" ->
        orders.filter((key, order) -> parse(order).get("amount").asLong() >= 10)
            .mapValues(order -> {
              JsonNode in = parse(order);
              ObjectNode out = JSON.createObjectNode();
              out.put("seq", in.get("seq").asLong());
              out.put("cents", in.get("amount").asLong() * 100);
              return write(out);
            })
            .to(output);
      case "window" -> tumbling(orders.groupByKey(), output);
      case "repartition" ->
        tumbling(orders.selectKey((key, order) -> parse(order).get("group").asText())
            .groupByKey(Grouped.with("by-group", Serdes.String(), Serdes.String())), output);
      case "session" ->
        orders.groupByKey()
            .windowedBy(SessionWindows.ofInactivityGapAndGrace(Duration.ofSeconds(30), GRACE))
            .aggregate(() -> "0,0", (key, order, agg) -> add(agg, order),
                (key, a, b) -> mergeSessions(a, b),
                Materialized.<String, String, SessionStore<Bytes, byte[]>>with(Serdes.String(), Serdes.String()))
            .toStream()
            .map(KafkaStreamsPipeline::windowed)
            .to(output, Produced.with(Serdes.String(), Serdes.String()));
      case "table" ->
        orders.groupByKey()
            .aggregate(() -> "0,0", (key, order, agg) -> add(agg, order),
                Materialized.<String, String, KeyValueStore<Bytes, byte[]>>with(Serdes.String(), Serdes.String()))
            .toStream()
            .mapValues(agg -> write(counts(agg)))
            .to(output);
      case "join" -> {
        KTable<String, String> customers = builder.table(table);
        orders.leftJoin(customers, (order, customer) -> {
              ObjectNode out = (ObjectNode) parse(order);
              out.set("customer", customer == null ? null : parse(customer));
              return write(out);
            })
            .to(output);
      }
      default -> throw new IllegalArgumentException("unknown scenario " + scenario);
    }
  }

  public static void main(String[] args) throws Exception {
    final String scenario = option(args, "--scenario", null);
    final String guarantee = option(args, "--guarantee", null);
    Properties p = new Properties();
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, option(args, "--bootstrap", null));
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, option(args, "--application-id", null));
    p.put(StreamsConfig.STATE_DIR_CONFIG, option(args, "--state-dir", null));
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG,
        guarantee.equals("exactly_once") ? StreamsConfig.EXACTLY_ONCE_V2 : StreamsConfig.AT_LEAST_ONCE);
    p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, Long.parseLong(option(args, "--commit-interval-ms", "100")));
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    p.put(StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG, Integer.parseInt(option(args, "--standby-replicas", "0")));
    final String sessionTimeoutMs = option(args, "--session-timeout-ms", "");
    if (!sessionTimeoutMs.isEmpty()) {
      final int timeout = Integer.parseInt(sessionTimeoutMs);
      p.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), timeout);
      p.put(StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), Math.min(timeout / 5, 3000));
    }

    StreamsBuilder builder = new StreamsBuilder();
    build(builder, scenario, option(args, "--input", null), option(args, "--output", null),
        option(args, "--table", ""));
    KafkaStreams streams = new KafkaStreams(builder.build(), p);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      streams.close(Duration.ofSeconds(30));
      stopped.countDown();
    }));
    streams.setGlobalStateRestoreListener(new StateRestoreListener() {
      @Override
      public void onRestoreStart(TopicPartition changelog, String store, long start, long end) {}

      @Override
      public void onBatchRestored(TopicPartition changelog, String store, long batchEnd, long records) {}

      @Override
      public void onRestoreEnd(TopicPartition changelog, String store, long totalRestored) {
        System.out.println(System.currentTimeMillis() + " restored " + store + " " + changelog.partition() + " "
            + totalRestored);
      }
    });
    streams.setUncaughtExceptionHandler(e -> {
      e.printStackTrace();
      return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse
          .SHUTDOWN_CLIENT;
    });
    streams.start();
    stopped.await();
  }
}
