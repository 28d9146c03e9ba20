package io.bitspark.tests;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Spark standalone cluster on 127.0.0.1 from the project's own jars: a Spark home whose jars/ links to the
 * runtime jars the build collected (spark-jobs/target/spark-lib), a Master and two Workers (1 core each) as
 * separate JVMs. Jobs go through Spark's own submit entry point with the jobs jar, as spark-submit would.
 */
final class SparkStandalone implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SparkStandalone.class);

    final Path home;
    final String masterUrl;
    final int webPort;
    private final List<Process> daemons = new ArrayList<>();
    private final Map<String, String> env;

    SparkStandalone(Path dir, int workers) throws Exception {
        this(dir, workers, w -> List.of());
    }

    /** {@code workerOptions}: extra JVM options of worker {@code w} (for example the resources it offers). */
    SparkStandalone(Path dir, int workers, java.util.function.IntFunction<List<String>> workerOptions) throws Exception {
        this.home = Files.createDirectories(dir.resolve("spark-home"));
        Path jars = Files.createDirectories(home.resolve("jars"));
        try (Stream<Path> s = Files.list(Path.of(System.getProperty("bit.spark.lib")))) {
            for (Path j : s.toList()) {
                Files.createSymbolicLink(jars.resolve(j.getFileName()), j);
            }
        }
        Path conf = Files.createDirectories(home.resolve("conf"));
        Files.copy(Path.of(System.getProperty("bit.conf.dir"), "log4j2.properties"), conf.resolve("log4j2.properties"));
        env = Map.of("SPARK_HOME", home.toString(), "SPARK_SCALA_VERSION", "2.12", "SPARK_CONF_DIR", conf.toString());
        int port = Processes.freePort();
        webPort = Processes.freePort();
        masterUrl = "spark://127.0.0.1:" + port;
        String cp = Processes.classpath(jars);
        Path masterLog = dir.resolve("master.log");
        daemons.add(Processes.start(Processes.list(Processes.java(), Processes.SPARK_JAVA17, "-Xmx512m", "-cp", cp,
                "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", port,
                "--webui-port", webPort), env, masterLog));
        Processes.await("the Spark master", Duration.ofSeconds(60), () -> Processes.logContains(masterLog, "I have been elected leader"));
        for (int w = 0; w < workers; w++) {
            Path workDir = Files.createDirectories(dir.resolve("worker" + w));
            daemons.add(Processes.start(Processes.list(Processes.java(), Processes.SPARK_JAVA17, "-Xmx512m", workerOptions.apply(w), "-cp", cp,
                    "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "1", "--memory", "3g",
                    "--webui-port", Processes.freePort(), "--work-dir", workDir, masterUrl), env, dir.resolve("worker" + w + ".log")));
        }
        Processes.await(workers + " registered workers", Duration.ofSeconds(90), () -> aliveWorkers() >= workers);
        LOG.info("Spark standalone {} with {} workers, web UI http://127.0.0.1:{}", masterUrl, workers, webPort);
    }

    int aliveWorkers() {
        try {
            String json = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + webPort + "/json/"))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
            return new com.fasterxml.jackson.databind.ObjectMapper().readTree(json).path("aliveworkers").asInt(0);
        } catch (IOException e) {
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        }
    }

    /** Starts {@code bit <args>} as a client-mode application of this cluster; its log goes to {@code log}. */
    Process submit(Path log, List<String> sparkConf, String... args) throws IOException {
        List<String> cmd = Processes.list(Processes.java(), Processes.SPARK_JAVA17, "-Xmx1g",
                "-Dlog4j2.configurationFile=" + home.resolve("conf/log4j2.properties"),
                "-cp", Processes.classpath(home.resolve("jars")), "org.apache.spark.deploy.SparkSubmit",
                "--master", masterUrl, "--deploy-mode", "client",
                "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1",
                "--conf", "spark.executor.memory=2g", "--conf", "spark.executor.cores=1",
                "--conf", "spark.executorEnv.OMP_NUM_THREADS=1", "--conf", "spark.ui.enabled=false");
        for (String c : sparkConf) {
            cmd.add("--conf");
            cmd.add(c);
        }
        cmd.addAll(List.of("--class", "io.bitspark.jobs.BitMain", System.getProperty("bit.jobs.jar")));
        cmd.addAll(List.of(args));
        return Processes.start(cmd, env, log);
    }

    /** Process ids of this cluster's executor JVMs. */
    List<ProcessHandle> executors() {
        return ProcessHandle.allProcesses()
                .filter(p -> p.info().commandLine().map(c -> c.contains("CoarseGrainedExecutorBackend")
                        && c.contains(home.toString())).orElse(false))
                .toList();
    }

    @Override
    public void close() {
        for (int i = daemons.size() - 1; i >= 0; i--) {
            Processes.stop(daemons.get(i));
        }
    }
}
