// Byte-for-byte cross-check of Sluice's generated codecs against Kafka's own generated Java
// classes (org.apache.kafka.common.message.*Data) from the same kafka-clients jar.
// Reads "<JsonName> <version> <hex>" lines (Sluice's samples) on stdin.
//   MessageRoundTrip             decodes each with the Java class and re-encodes it; requires
//                                identical bytes and that the decoder used all input.
//   MessageRoundTrip --defaults  writes, once per message type and version in the input, Java's
//                                default-constructed message as the same kind of line, for Sluice
//                                to decode and re-encode (protocol_dump_samples --reencode): that
//                                checks our defaults, tagged ones above all, against Kafka's.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.TreeSet;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Message;
import org.apache.kafka.common.protocol.ObjectSerializationCache;
import org.apache.kafka.common.protocol.Readable;

public final class MessageRoundTrip {
  // Requests, responses and headers are "<Name>Data"; data definitions keep their own name.
  private static Class<?> javaClass(String name) throws ClassNotFoundException {
    try {
      return Class.forName("org.apache.kafka.common.message." + name + "Data");
    } catch (ClassNotFoundException e) {
      return Class.forName("org.apache.kafka.common.message." + name);
    }
  }

  private static byte[] encode(Message message, short version) {
    ObjectSerializationCache cache = new ObjectSerializationCache();
    ByteBuffer output = ByteBuffer.allocate(message.size(cache, version));
    message.write(new ByteBufferAccessor(output), cache, version);
    return output.array();
  }

  private static void writeDefaults(BufferedReader in) throws Exception {
    TreeSet<String> done = new TreeSet<>();
    for (String line; (line = in.readLine()) != null; ) {
      String[] parts = line.split(" ", -1);
      if (!done.add(parts[0] + " " + parts[1])) continue;
      try {
        Message message = (Message) javaClass(parts[0]).getConstructor().newInstance();
        byte[] bytes = encode(message, Short.parseShort(parts[1]));
        System.out.println(parts[0] + " " + parts[1] + " " + HexFormat.of().formatHex(bytes));
      } catch (ClassNotFoundException e) {
        System.err.println("SKIP " + parts[0] + " (no Java class)");
      } catch (RuntimeException e) {
        // Some defaults are not writable in every version (Java refuses null where the version
        // has no null); there is nothing to compare then.
        System.err.println("SKIP " + parts[0] + " v" + parts[1] + " (Java cannot write its default: " + e + ")");
      }
    }
  }

  public static void main(String[] args) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
    if (args.length > 0 && args[0].equals("--defaults")) {
      writeDefaults(in);
      return;
    }
    int checked = 0, failed = 0;
    TreeSet<String> types = new TreeSet<>();
    for (String line; (line = in.readLine()) != null; ) {
      String[] parts = line.split(" ", -1);
      String name = parts[0];
      short version = Short.parseShort(parts[1]);
      byte[] ours = HexFormat.of().parseHex(parts[2]);
      try {
        Class<?> type = javaClass(name);
        ByteBuffer input = ByteBuffer.wrap(ours);
        Message message = (Message) type.getConstructor(Readable.class, short.class)
            .newInstance(new ByteBufferAccessor(input), version);
        if (input.hasRemaining()) {
          throw new IllegalStateException(input.remaining() + " bytes not consumed by Java");
        }
        byte[] theirs = encode(message, version);
        if (!java.util.Arrays.equals(ours, theirs)) {
          throw new IllegalStateException("bytes differ:\n  sluice " + parts[2] + "\n  java   "
              + HexFormat.of().formatHex(theirs));
        }
        types.add(name);
        checked++;
      } catch (ClassNotFoundException e) {
        System.out.println("SKIP " + name + " (no Java class)");
      } catch (Exception e) {
        Throwable cause = e.getCause() != null ? e.getCause() : e;
        System.out.println("FAIL " + name + " v" + version + ": " + cause);
        failed++;
      }
    }
    System.out.println("checked " + checked + " encodings of " + types.size() + " message types, "
        + failed + " failed");
    System.exit(failed == 0 && checked > 0 ? 0 : 1);
  }
}
