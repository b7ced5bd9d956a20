// The Kafka Streams side of the conformance check (run.py): the same two jobs as Sluice's
// pipelines, written with the Kafka Streams DSL on the pinned Kafka's jars, exactly-once v2, the
// record cache off so that every update is emitted, as Sluice does:
//   1. a table aggregation: orders grouped by key, count and sum of "amount";
//   2. a stream-table left join: each order gets its customer's current record as "customer";
//   3. stream-stream joins of orders and payments (same key, timestamps at most WINDOW_MS apart,
//      GRACE_MS of grace), inner, left and outer, the payment as "payment" (an outer join's payment
//      without an order: {"payment": ...}). The wall-clock throttle of unmatched results is off
//      (emit interval 0), so they go out at the first record that may emit them, as in Sluice;
//   4. table-table joins of accounts and owners (both read as tables, keyed alike), inner, left
//      and outer, the owner as "owner" (an outer join's owner without an account:
//      {"owner": ...}), every update of either table emitted, a deleted result as a tombstone;
//   5. a table aggregation of a table: accounts regrouped by their "region" (KTable#groupBy), count
//      and sum of "id", with a subtractor, so an account that moves or is deleted leaves its old
//      region (Sluice: a table: aggregation after a source read as a table).
// Values are JSON text handled as strings (no JSON library on the classpath): the amount is read
// with a pattern, the outputs are written the way Sluice writes them.
//   java StreamsConformance BOOTSTRAP APP STATE_DIR ORDERS CUSTOMERS TABLE_OUT JOIN_OUT
//        PAYMENTS WINDOW_MS GRACE_MS INNER_OUT LEFT_OUT OUTER_OUT
//        ACCOUNTS OWNERS TABLE_INNER_OUT TABLE_LEFT_OUT TABLE_OUTER_OUT REGROUP_OUT
// Runs until SIGTERM, then closes cleanly (a final commit).
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.JoinWindows;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.ValueJoiner;

public final class StreamsConformance {
  private static final Pattern AMOUNT = Pattern.compile("\"amount\":(-?\\d+)");
  private static final Pattern ID = Pattern.compile("\"id\":(-?\\d+)");
  private static final Pattern REGION = Pattern.compile("\"region\":\"([^\"]*)\"");

  private static String member(Pattern pattern, String value) {
    Matcher m = pattern.matcher(value);
    if (!m.find()) throw new IllegalArgumentException("no " + pattern + " in " + value);
    return m.group(1);
  }

  private static long amount(String order) {
    return Long.parseLong(member(AMOUNT, order));
  }

  // "count,total" with one account added (sign 1) or taken out (sign -1).
  private static String regrouped(String agg, String account, long sign) {
    String[] parts = agg.split(",");
    return (Long.parseLong(parts[0]) + sign) + ","
        + (Long.parseLong(parts[1]) + sign * Long.parseLong(member(ID, account)));
  }

  // Sluice's joined value: the left value (an object, or {} when absent) with member `name` set to
  // the right value (null when absent).
  private static ValueJoiner<String, String, String> withMember(String name) {
    return (left, right) -> (left == null ? "{" : left.substring(0, left.lastIndexOf('}')) + ",")
        + "\"" + name + "\":" + (right == null ? "null" : right) + "}";
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 19) {
      System.err.println("usage: StreamsConformance BOOTSTRAP APP STATE_DIR ORDERS CUSTOMERS TABLE_OUT JOIN_OUT"
          + " PAYMENTS WINDOW_MS GRACE_MS INNER_OUT LEFT_OUT OUTER_OUT"
          + " ACCOUNTS OWNERS TABLE_INNER_OUT TABLE_LEFT_OUT TABLE_OUTER_OUT REGROUP_OUT");
      System.exit(2);
    }
    Properties p = new Properties();
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, args[1]);
    p.put(StreamsConfig.STATE_DIR_CONFIG, args[2]);
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
    p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    p.put(StreamsConfig.InternalConfig.EMIT_INTERVAL_MS_KSTREAMS_OUTER_JOIN_SPURIOUS_RESULTS_FIX, 0L);

    StreamsBuilder builder = new StreamsBuilder();
    KStream<String, String> orders = builder.stream(args[3]);
    KTable<String, String> customers = builder.table(args[4]);
    orders
        .groupByKey()
        .aggregate(
            () -> "0,0",
            (key, order, agg) -> {
              String[] parts = agg.split(",");
              return (Long.parseLong(parts[0]) + 1) + "," + (Long.parseLong(parts[1]) + amount(order));
            },
            Materialized.with(Serdes.String(), Serdes.String()))
        .toStream()
        .mapValues(agg -> {
          String[] parts = agg.split(",");
          return "{\"count\":" + parts[0] + ",\"total\":" + parts[1] + "}";
        })
        .to(args[5]);
    orders
        .leftJoin(customers, (order, customer) -> order.substring(0, order.lastIndexOf('}')) + ",\"customer\":"
            + (customer == null ? "null" : customer) + "}")
        .to(args[6]);

    KStream<String, String> payments = builder.stream(args[7]);
    JoinWindows window = JoinWindows.ofTimeDifferenceAndGrace(
        Duration.ofMillis(Long.parseLong(args[8])), Duration.ofMillis(Long.parseLong(args[9])));
    ValueJoiner<String, String, String> withPayment = withMember("payment");
    orders.join(payments, withPayment, window).to(args[10]);
    orders.leftJoin(payments, withPayment, window).to(args[11]);
    orders.outerJoin(payments, withPayment, window).to(args[12]);

    KTable<String, String> accounts = builder.table(args[13]);
    KTable<String, String> owners = builder.table(args[14]);
    ValueJoiner<String, String, String> withOwner = withMember("owner");
    accounts.join(owners, withOwner).toStream().to(args[15]);
    accounts.leftJoin(owners, withOwner).toStream().to(args[16]);
    accounts.outerJoin(owners, withOwner).toStream().to(args[17]);
    accounts
        .groupBy((key, account) -> KeyValue.pair(member(REGION, account), account),
            Grouped.with(Serdes.String(), Serdes.String()))
        .aggregate(
            () -> "0,0",
            (region, account, agg) -> regrouped(agg, account, 1),
            (region, account, agg) -> regrouped(agg, account, -1),
            Materialized.with(Serdes.String(), Serdes.String()))
        .toStream()
        .mapValues(agg -> {
          String[] parts = agg.split(",");
          return "{\"count\":" + parts[0] + ",\"total\":" + parts[1] + "}";
        })
        .to(args[18]);

    KafkaStreams streams = new KafkaStreams(builder.build(), p);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      streams.close(Duration.ofSeconds(30));
      stopped.countDown();
    }));
    streams.start();
    stopped.await();
  }
}
