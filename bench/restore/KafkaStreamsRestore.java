// Kafka Streams' side of bench/run.py's `restore` suite (bench/restore/README.md): a Kafka
// Streams 4.3.1 application whose only state is one persistent key-value store, "store" (RocksDB,
// Bytes keys, byte[] values: the plain store, not the timestamped one, so that it restores the
// changelog's bytes as they are, like Sluice's store). Its changelog is
// <application.id>-store-changelog, which the harness fills beforehand; the input topic stays
// empty. On start the task restores the store from that changelog; a StateRestoreListener times
// it (onRestoreStart to onRestoreEnd, Kafka Streams' own restore clock). The app stops once the
// instance reaches RUNNING with every restore done and prints the one-line report:
//
//   {"records": R, "bytes": B, "seconds": S, "errors": 0, "to_running_s": T}
//
// "seconds" is the restore alone (0 when nothing was restored: a clean restart, the checkpoint
// file in the state directory saying the store is up to date); "to_running_s" is from start() to
// RUNNING (group join included).
//
//   java -cp <kafka libs>/*:<classes> KafkaStreamsRestore --bootstrap B --application-id A
//        --input T --state-dir D --records N --size S
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.StateRestoreListener;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.Stores;

public final class KafkaStreamsRestore {
  private static String option(String[] args, String name) {
    for (int i = 0; i + 1 < args.length; i += 2) {
      if (args[i].equals(name)) return args[i + 1];
    }
    throw new IllegalArgumentException(name + " is required");
  }

  public static void main(String[] args) throws Exception {
    final String bootstrap = option(args, "--bootstrap");
    final String applicationId = option(args, "--application-id");
    final String input = option(args, "--input");
    final String stateDir = option(args, "--state-dir");
    final long size = Long.parseLong(option(args, "--size"));

    final Topology topology = new Topology();
    topology.addSource("source", Serdes.Bytes().deserializer(), Serdes.ByteArray().deserializer(), input);
    topology.addProcessor("sink-nothing", () -> new Processor<Bytes, byte[], Void, Void>() {
      @Override
      public void process(Record<Bytes, byte[]> record) {}
    }, "source");
    topology.addStateStore(
        Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore("store"), Serdes.Bytes(), Serdes.ByteArray()),
        "sink-nothing");

    final Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);

    final AtomicLong restored = new AtomicLong();
    final AtomicLong restoreStart = new AtomicLong();
    final AtomicLong restoreNanos = new AtomicLong();
    final CountDownLatch running = new CountDownLatch(1);
    final KafkaStreams streams = new KafkaStreams(topology, props);
    streams.setGlobalStateRestoreListener(new StateRestoreListener() {
      @Override
      public void onRestoreStart(TopicPartition partition, String store, long startingOffset, long endingOffset) {
        restoreStart.set(System.nanoTime());
      }

      @Override
      public void onBatchRestored(TopicPartition partition, String store, long batchEndOffset, long numRestored) {}

      @Override
      public void onRestoreEnd(TopicPartition partition, String store, long totalRestored) {
        restoreNanos.addAndGet(System.nanoTime() - restoreStart.get());
        restored.addAndGet(totalRestored);
      }
    });
    streams.setStateListener((now, before) -> {
      if (now == KafkaStreams.State.RUNNING) running.countDown();
    });
    final long started = System.nanoTime();
    streams.start();
    final boolean reached = running.await(30, TimeUnit.MINUTES);
    final double toRunning = (System.nanoTime() - started) / 1e9;
    // Leaving the group on close: the clean restart then joins at once instead of waiting out the
    // old member's session timeout (a Streams instance keeps its membership on close by default).
    streams.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
                      .withTimeout(Duration.ofMinutes(5)));
    if (!reached) {
      System.err.println("KafkaStreamsRestore: the instance never reached RUNNING");
      System.exit(1);
    }
    System.out.printf("{\"records\": %d, \"bytes\": %d, \"seconds\": %.6f, \"errors\": 0, \"to_running_s\": %.6f}%n",
                      restored.get(), restored.get() * size, restoreNanos.get() / 1e9, toRunning);
  }
}
