// Readiness probe for scripts/kafka: one JVM checks every listener of every node with Kafka's own
// admin client, instead of one JVM start (about 2 s each) per check.
//
//   java ClusterProbe <expected nodes> <deadline seconds> <address>[=<client.properties>] ...
//
// For each address (one node's listener, optionally with a client config for SASL_SSL) it retries
// DescribeCluster until that node answers and reports all <expected nodes> brokers, or the
// deadline passes. A SASL failure is retried too: SCRAM credentials reach the broker through the
// metadata log (KIP-900), possibly a moment after the listener opens. Exit 0 when every address
// passed; otherwise the last error of each failed one goes to stderr.

import java.io.FileReader;
import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;

public final class ClusterProbe {
    private static final long RETRY_PAUSE_MS = 300;
    private static final int REQUEST_TIMEOUT_MS = 5_000;

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: ClusterProbe <expected nodes> <deadline s> <address>[=<properties>]...");
            System.exit(2);
        }
        int expected = Integer.parseInt(args[0]);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[1]));
        List<CompletableFuture<String>> probes = new ArrayList<>();
        for (int i = 2; i < args.length; ++i) {
            String target = args[i];
            probes.add(CompletableFuture.supplyAsync(() -> probe(target, expected, deadline)));
        }
        int failed = 0;
        for (CompletableFuture<String> probe : probes) {
            String error = probe.join();
            if (error != null) {
                System.err.println(error);
                ++failed;
            }
        }
        System.exit(failed == 0 ? 0 : 1);
    }

    // Returns null once the node answered with the whole cluster, else what went wrong last.
    private static String probe(String target, int expected, long deadline) {
        String[] parts = target.split("=", 2);
        Properties config = new Properties();
        try {
            if (parts.length == 2) {
                try (Reader reader = new FileReader(parts[1])) {
                    config.load(reader);
                }
            }
        } catch (IOException e) {
            return target + ": cannot read client config: " + e.getMessage();
        }
        config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, parts[0]);
        config.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, REQUEST_TIMEOUT_MS);
        config.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, REQUEST_TIMEOUT_MS);
        config.put(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, 100);
        // The broker is still starting: notice its listener within a fifth of a second.
        config.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 200);
        String last = target + ": no answer";
        while (System.nanoTime() < deadline) {
            // A fresh client per attempt: a client that failed SASL authentication keeps failing.
            try (Admin admin = Admin.create(config)) {
                int nodes = admin.describeCluster(new DescribeClusterOptions().timeoutMs(REQUEST_TIMEOUT_MS))
                                 .nodes().get().size();
                if (nodes == expected) {
                    return null;
                }
                last = target + ": sees " + nodes + " of " + expected + " brokers";
            } catch (Exception e) {
                Throwable cause = e.getCause() != null ? e.getCause() : e;
                last = target + ": " + cause.getClass().getSimpleName() + ": " + cause.getMessage();
            }
            try {
                Thread.sleep(RETRY_PAUSE_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return target + ": interrupted";
            }
        }
        return last;
    }
}
