// Cross-check of Sluice's record batches against Kafka's own implementation
// (org.apache.kafka.common.record.internal.MemoryRecords, MemoryRecordsBuilder, DefaultRecordBatch,
// Compression) from the pinned kafka-clients jar.
//   java RecordsInterop write <dir>   writes java-<name>.bin: the same logical batches that
//                                     records_interop writes as sluice-<name>.bin
//   java RecordsInterop dump <file>   decodes every batch (CRC checked with ensureValid) and
//                                     prints it in the canonical text both sides print
// run.sh compares the dumps: each file decoded by both, and each Sluice file against the Java
// file with the same logical content.
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.record.internal.CompressionType;
import org.apache.kafka.common.record.internal.ControlRecordType;
import org.apache.kafka.common.record.internal.DefaultRecordBatch;
import org.apache.kafka.common.record.internal.EndTransactionMarker;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.MemoryRecordsBuilder;
import org.apache.kafka.common.record.internal.MutableRecordBatch;
import org.apache.kafka.common.record.internal.Record;
import org.apache.kafka.common.record.internal.RecordBatch;

public final class RecordsInterop {
  // Must match sample_records() in records_interop.cpp.
  static final long BASE_TIMESTAMP = 1700000000000L;
  static final int FILLER_RECORDS = 50;
  static final int BIG_VALUE_SIZE = 100000;

  record Sample(long timestamp, byte[] key, byte[] value, Header[] headers) {}

  static byte[] utf8(String text) { return text.getBytes(StandardCharsets.UTF_8); }

  static List<Sample> sampleRecords() {
    List<Sample> samples = new ArrayList<>();
    samples.add(new Sample(BASE_TIMESTAMP, utf8("key-0"), utf8("value-0"),
        new Header[] {new RecordHeader("trace", utf8("abc")), new RecordHeader("empty", null)}));
    samples.add(new Sample(BASE_TIMESTAMP + 5, null, utf8("no key"), new Header[0]));
    samples.add(new Sample(BASE_TIMESTAMP - 10, utf8("tombstone"), null, new Header[0]));
    samples.add(new Sample(BASE_TIMESTAMP + 100, utf8(""), utf8(""),
        new Header[] {new RecordHeader("", new byte[0])}));
    byte[] big = new byte[BIG_VALUE_SIZE];
    for (int i = 0; i < big.length; i++) big[i] = (byte) (i % 251);
    samples.add(new Sample(BASE_TIMESTAMP + 50, utf8("big"), big, new Header[0]));
    for (int i = 0; i < FILLER_RECORDS; i++) {
      samples.add(new Sample(BASE_TIMESTAMP + i, utf8("k" + i),
          utf8("filler value " + i + " filler value filler value"), new Header[0]));
    }
    return samples;
  }

  static ByteBuffer batch(CompressionType type, long baseOffset, long producerId, short epoch,
                          int sequence, boolean transactional, int leaderEpoch) {
    MemoryRecordsBuilder builder = MemoryRecords.builder(ByteBuffer.allocate(1024),
        RecordBatch.CURRENT_MAGIC_VALUE, Compression.of(type).build(), TimestampType.CREATE_TIME,
        baseOffset, RecordBatch.NO_TIMESTAMP, producerId, epoch, sequence, transactional, leaderEpoch);
    for (Sample s : sampleRecords()) builder.append(s.timestamp(), s.key(), s.value(), s.headers());
    return builder.build().buffer();
  }

  static void write(Path dir) throws Exception {
    for (CompressionType type : CompressionType.values()) {
      // Two batches per file: a plain one, then an idempotent transactional one.
      ByteBuffer plain = batch(type, 0, RecordBatch.NO_PRODUCER_ID, RecordBatch.NO_PRODUCER_EPOCH,
          RecordBatch.NO_SEQUENCE, false, RecordBatch.NO_PARTITION_LEADER_EPOCH);
      ByteBuffer txn = batch(type, 100, 1234L, (short) 5, 42, true, 3);
      ByteBuffer both = ByteBuffer.allocate(plain.remaining() + txn.remaining());
      both.put(plain).put(txn);
      Files.write(dir.resolve("java-" + type.name + ".bin"), both.array());
    }
    ByteBuffer commit = MemoryRecords.withEndTransactionMarker(200L, BASE_TIMESTAMP,
        RecordBatch.NO_PARTITION_LEADER_EPOCH, 1234L, (short) 5,
        new EndTransactionMarker(ControlRecordType.COMMIT, 17)).buffer();
    ByteBuffer abort = MemoryRecords.withEndTransactionMarker(201L, BASE_TIMESTAMP,
        RecordBatch.NO_PARTITION_LEADER_EPOCH, 1234L, (short) 5,
        new EndTransactionMarker(ControlRecordType.ABORT, 18)).buffer();
    ByteBuffer markers = ByteBuffer.allocate(commit.remaining() + abort.remaining());
    markers.put(commit).put(abort);
    Files.write(dir.resolve("java-markers.bin"), markers.array());
  }

  static String hex(ByteBuffer data) {
    if (data == null) return "null";
    byte[] copy = new byte[data.remaining()];
    data.duplicate().get(copy);
    return HexFormat.of().formatHex(copy);
  }

  static String hex(byte[] data) { return data == null ? "null" : HexFormat.of().formatHex(data); }

  static void dump(Path file, PrintStream out) throws Exception {
    MemoryRecords records = MemoryRecords.readableRecords(ByteBuffer.wrap(Files.readAllBytes(file)));
    int batches = 0;
    for (MutableRecordBatch batch : records.batches()) {
      batch.ensureValid();  // magic 2: CRC-32C over attributes..end
      DefaultRecordBatch v2 = (DefaultRecordBatch) batch;
      out.printf("batch base_offset=%d leader_epoch=%d magic=%d codec=%d timestamp_type=%d"
              + " transactional=%b control=%b last_offset_delta=%d base_timestamp=%d"
              + " max_timestamp=%d producer_id=%d producer_epoch=%d base_sequence=%d count=%d"
              + " delete_horizon=%s%n",
          batch.baseOffset(), batch.partitionLeaderEpoch(), batch.magic(), batch.compressionType().id,
          batch.timestampType().id, batch.isTransactional(), batch.isControlBatch(),
          batch.lastOffset() - batch.baseOffset(), v2.baseTimestamp(), batch.maxTimestamp(),
          batch.producerId(), batch.producerEpoch(), batch.baseSequence(), batch.countOrNull(),
          batch.deleteHorizonMs().isPresent() ? Long.toString(batch.deleteHorizonMs().getAsLong()) : "none");
      out.printf("raw size=%d crc=%08x%n", batch.sizeInBytes(), batch.checksum());
      Iterator<Record> it = batch.iterator();
      while (it.hasNext()) {
        Record r = it.next();
        out.printf("record offset=%d timestamp=%d key=%s value=%s headers=%d%n", r.offset(),
            r.timestamp(), hex(r.key()), hex(r.value()), r.headers().length);
        for (Header h : r.headers()) {
          out.printf("header key=%s value=%s%n", hex(utf8(h.key())), hex(h.value()));
        }
      }
      batches++;
    }
    out.printf("end batches=%d%n", batches);
  }

  public static void main(String[] args) throws Exception {
    if (args.length == 2 && args[0].equals("write")) {
      write(Path.of(args[1]));
    } else if (args.length == 2 && args[0].equals("dump")) {
      dump(Path.of(args[1]), System.out);
    } else {
      System.err.println("usage: RecordsInterop write <dir> | dump <file>");
      System.exit(2);
    }
  }
}
