package io.bitspark.tests;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real S3-protocol server (Adobe S3Mock, run from its executable jar as its own process) on 127.0.0.1 with
 * one bucket, and the Hadoop s3a settings that reach it: path-style access, no TLS, static keys, and no ETag
 * change detection (S3Mock's ETags make every open fail otherwise).
 */
final class S3Server implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(S3Server.class);

    final int port;
    final String bucket;
    private final Process process;

    S3Server(Path dir, String bucket) throws Exception {
        this.bucket = bucket;
        this.port = Processes.freePort();
        Path root = Files.createDirectories(dir.resolve("s3-root"));
        Path log = dir.resolve("s3mock.log");
        Map<String, String> env = Map.of(
                "COM_ADOBE_TESTING_S3MOCK_DOMAIN_ROOT", root.toString(),
                "COM_ADOBE_TESTING_S3MOCK_DOMAIN_INITIALBUCKETS", bucket,
                "COM_ADOBE_TESTING_S3MOCK_HTTPPORT", String.valueOf(port),
                "SERVER_PORT", String.valueOf(Processes.freePort()),
                "SERVER_ADDRESS", "127.0.0.1");
        process = Processes.start(Processes.list(Processes.java(), "-Xmx512m", "-jar", System.getProperty("bit.s3mock.jar")),
                env, log);
        Processes.await("the S3 server", Duration.ofSeconds(90), () -> Processes.logContains(log, "Started S3MockApplication"));
        LOG.info("S3 server on http://127.0.0.1:{} with bucket {}", port, bucket);
    }

    /** Hadoop settings for s3a against this server (without the spark.hadoop. prefix). */
    Map<String, String> hadoopSettings() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("fs.s3a.endpoint", "http://127.0.0.1:" + port);
        m.put("fs.s3a.path.style.access", "true");
        m.put("fs.s3a.connection.ssl.enabled", "false");
        m.put("fs.s3a.access.key", "test-access-key");
        m.put("fs.s3a.secret.key", "test-secret-key");
        m.put("fs.s3a.change.detection.mode", "none");
        m.put("fs.s3a.aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider");
        m.put("fs.s3a.impl", "org.apache.hadoop.fs.s3a.S3AFileSystem");
        return m;
    }

    /** The same as Spark settings ({@code spark.hadoop.} prefix), for --conf or system properties. */
    List<String> sparkConf() {
        return hadoopSettings().entrySet().stream().map(e -> "spark.hadoop." + e.getKey() + "=" + e.getValue()).toList();
    }

    String uri(String path) {
        return "s3a://" + bucket + "/" + path;
    }

    @Override
    public void close() {
        Processes.stop(process);
    }
}
