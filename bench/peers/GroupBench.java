// Java kafka-clients group driver for scripts/bench (compiled by bench/run.py against the pinned
// jars): two members of one new consumer group (classic protocol, partition.assignment.strategy =
// --assignor alone: "range" is eager, "cooperative-sticky" incremental, KIP-429), each polled by a
// thread of its own. Member A subscribes to --topic, gets its partitions and polls for a second;
// then member B subscribes; until both together own all --partitions partitions with B owning
// some. Every listener call is printed with its System.nanoTime() (CLOCK_MONOTONIC on Linux, the
// clock of every driver); bench/run.py works out the join times and pauses from them. Same
// command line as the other drivers; everything but the assignor is the client's default.
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public final class GroupBench {
  private static final long TIMEOUT_NS = 90_000_000_000L;
  private static final List<String> events = new ArrayList<>();
  private static final List<Set<Integer>> owned = List.of(new HashSet<>(), new HashSet<>());

  private static double now() {
    return System.nanoTime() / 1e9;
  }

  private static synchronized void note(int member, String kind, Collection<TopicPartition> partitions) {
    StringBuilder numbers = new StringBuilder();
    for (TopicPartition tp : partitions) {
      if (numbers.length() > 0) numbers.append(", ");
      numbers.append(tp.partition());
      if (kind.equals("assigned")) owned.get(member).add(tp.partition());
      else owned.get(member).remove(tp.partition());
    }
    events.add(String.format("{\"member\": \"%c\", \"event\": \"%s\", \"t\": %.6f, \"partitions\": [%s]}",
        (char) ('A' + member), kind, now(), numbers));
  }

  private static synchronized int ownedCount(int member) {
    return owned.get(member).size();
  }

  private static final class Listener implements ConsumerRebalanceListener {
    private final int member;

    Listener(int member) {
      this.member = member;
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      note(member, "revoked", partitions);
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      note(member, "assigned", partitions);
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
      note(member, "lost", partitions);
    }
  }

  private static boolean waitUntil(java.util.function.BooleanSupplier done) throws InterruptedException {
    long deadline = System.nanoTime() + TIMEOUT_NS;
    while (System.nanoTime() < deadline) {
      if (done.getAsBoolean()) return true;
      Thread.sleep(1);
    }
    return false;
  }

  public static void main(String[] argv) throws Exception {
    String bootstrap = null, topic = null, group = null, assignor = "range";
    int partitions = 1;
    for (int i = 0; i + 1 < argv.length; i += 2) {
      switch (argv[i]) {
        case "--bootstrap": bootstrap = argv[i + 1]; break;
        case "--topic": topic = argv[i + 1]; break;
        case "--group": group = argv[i + 1]; break;
        case "--assignor": assignor = argv[i + 1]; break;
        case "--partitions": partitions = Integer.parseInt(argv[i + 1]); break;
        case "--records": break;  // every driver's command line has it; not used here
        default:
          System.err.println("GroupBench: unknown option '" + argv[i] + "'");
          System.exit(2);
      }
    }
    if (bootstrap == null || topic == null || group == null) {
      System.err.println("GroupBench: --bootstrap, --topic and --group are required");
      System.exit(2);
    }
    Properties config = new Properties();
    config.put("bootstrap.servers", bootstrap);
    config.put("group.id", group);
    config.put("enable.auto.commit", "false");
    config.put("auto.offset.reset", "earliest");
    config.put("key.deserializer", ByteArrayDeserializer.class.getName());
    config.put("value.deserializer", ByteArrayDeserializer.class.getName());
    config.put("partition.assignment.strategy", assignor.equals("cooperative-sticky")
        ? CooperativeStickyAssignor.class.getName() : RangeAssignor.class.getName());

    AtomicBoolean stop = new AtomicBoolean(false);
    List<KafkaConsumer<byte[], byte[]>> consumers = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    final String subscribed = topic;
    for (int m = 0; m < 2; ++m) {
      final int member = m;
      KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(config);
      consumers.add(consumer);
      threads.add(new Thread(() -> {
        note(member, "subscribe", List.of());
        consumer.subscribe(List.of(subscribed), new Listener(member));
        while (!stop.get()) consumer.poll(Duration.ofMillis(20));
        consumer.close();
      }, "member-" + (char) ('A' + m)));
    }
    final int all = partitions;
    threads.get(0).start();
    boolean settled = waitUntil(() -> ownedCount(0) > 0);
    if (settled) {
      Thread.sleep(1000);
      threads.get(1).start();
      settled = waitUntil(() -> ownedCount(1) > 0 && ownedCount(0) + ownedCount(1) == all);
    }
    if (!settled) System.err.println("GroupBench: the group did not settle within 90 s");
    List<String> recorded;
    synchronized (GroupBench.class) {
      recorded = new ArrayList<>(events);  // closing revokes again: not part of the measurement
    }
    stop.set(true);
    for (Thread thread : threads) {
      if (thread.isAlive()) thread.join();
    }
    System.out.println("{\"errors\": " + (settled ? 0 : 1) + ", \"events\": [" + String.join(", ", recorded) + "]}");
    System.exit(settled ? 0 : 1);
  }
}
