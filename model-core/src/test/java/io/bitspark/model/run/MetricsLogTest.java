package io.bitspark.model.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.bitspark.model.checkpoint.ArtifactStore;
import io.bitspark.model.checkpoint.LocalStore;

class MetricsLogTest {

    static void write(ArtifactStore store, long from, long... steps) throws IOException {
        try (MetricsLog log = MetricsLog.open(store, from, 3)) {
            for (long s : steps) {
                log.add(Map.of("step", s, "from", from));
            }
        }
    }

    static List<Long> steps(List<Map<String, Object>> h) {
        return h.stream().map(r -> ((Number) r.get("step")).longValue()).toList();
    }

    /**
     * Attempt 1 logs to step 130; attempt 2 resumes from 100 and logs to 150 but its checkpoints are lost; attempt 3
     * resumes from the checkpoint at 50: everything past 50 of the earlier attempts is superseded, whatever the steps.
     */
    @Test
    void laterAttemptsSupersedeEverythingPastTheirStart(@TempDir Path tmp) throws Exception {
        LocalStore store = new LocalStore(tmp);
        write(store, 0, LongStream.rangeClosed(1, 13).map(i -> 10 * i).toArray());
        write(store, 100, 110, 120, 130, 140, 150);
        write(store, 50, 60, 70, 80);
        List<Map<String, Object>> h = MetricsLog.history(store);
        assertEquals(List.of(10L, 20L, 30L, 40L, 50L, 60L, 70L, 80L), steps(h));
        assertEquals(50, ((Number) h.get(5).get("from")).intValue(), "steps 60-80 come from the third attempt");
        assertEquals(List.of("attempt-0001-from-00000000.jsonl", "attempt-0002-from-00000100.jsonl",
                "attempt-0003-from-00000050.jsonl"), store.list("metrics"));
        assertEquals(3, MetricsLog.attempts(store).size());
    }

    /** A store that cannot append (an object store): every sync becomes a new part file; nothing is rewritten. */
    @Test
    void storesWithoutAppendGetOneNewFilePerSync(@TempDir Path tmp) throws Exception {
        LocalStore local = new LocalStore(tmp);
        ArtifactStore objectStore = new ForwardingStore(local);
        write(objectStore, 0, 1, 2, 3, 4, 5, 6, 7);
        assertEquals(List.of("attempt-0001-from-00000000-part-00001.jsonl", "attempt-0001-from-00000000-part-00002.jsonl",
                "attempt-0001-from-00000000-part-00003.jsonl"), local.list("metrics"));
        assertEquals(3, Files.readAllLines(tmp.resolve("metrics/attempt-0001-from-00000000-part-00001.jsonl")).size());
        write(objectStore, 4, 5, 6);
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L), steps(MetricsLog.history(objectStore)));
    }

    /** Files of earlier releases (one per start, named by its first step) are read as attempts in step order. */
    @Test
    void legacySegmentsStillRead(@TempDir Path tmp) throws Exception {
        Files.createDirectories(tmp.resolve("metrics"));
        Files.writeString(tmp.resolve("metrics/metrics-00000000.jsonl"), "{\"step\":1}\n{\"step\":2}\n{\"step\":3}\n");
        Files.writeString(tmp.resolve("metrics/metrics-00000002.jsonl"), "{\"step\":3,\"again\":true}\n{\"step\":4}\n");
        LocalStore store = new LocalStore(tmp);
        write(store, 4, 5);
        List<Map<String, Object>> h = MetricsLog.history(store);
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L), steps(h));
        assertEquals(true, h.get(2).get("again"));
    }

    /**
     * A writer killed with SIGKILL loses no line before its last sync (here none at all: lines reach the file as they
     * are logged), and a line cut short at the end is skipped instead of failing the reader.
     */
    @Test
    void aKilledWriterLosesNothingBeforeItsLastSync(@TempDir Path tmp) throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"), MetricsWriter.class.getName(),
                tmp.toString()).redirectErrorStream(true).start();
        long synced = 0;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; synced < 400 && (line = out.readLine()) != null; ) {
                if (line.startsWith("synced ")) {
                    synced = Long.parseLong(line.substring(7));
                }
            }
            p.destroyForcibly();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        }
        assertTrue(synced >= 400, "the writer reported " + synced + " synced lines");
        assertEquals(137, p.exitValue(), "killed by SIGKILL");
        Path file = tmp.resolve("metrics/attempt-0001-from-00000000.jsonl");
        // As if the kill had landed in the middle of a line.
        try (OutputStream o = Files.newOutputStream(file, StandardOpenOption.APPEND)) {
            o.write("{\"step\": 99999, \"loss\": 0.0".getBytes(StandardCharsets.UTF_8));
        }
        List<Long> steps = steps(MetricsLog.history(new LocalStore(tmp)));
        assertTrue(steps.size() >= synced, steps.size() + " lines read, " + synced + " were synced");
        assertEquals(LongStream.rangeClosed(1, steps.size()).boxed().toList(), steps, "every line from step 1, none missing");
    }

    /** Delegates everything but appending, like an object store. */
    static final class ForwardingStore implements ArtifactStore {
        final ArtifactStore d;

        ForwardingStore(ArtifactStore d) {
            this.d = d;
        }

        @Override
        public OutputStream create(String path) throws IOException {
            return d.create(path);
        }

        @Override
        public InputStream open(String path) throws IOException {
            return d.open(path);
        }

        @Override
        public boolean exists(String path) throws IOException {
            return d.exists(path);
        }

        @Override
        public long size(String path) throws IOException {
            return d.size(path);
        }

        @Override
        public List<String> list(String dir) throws IOException {
            return d.list(dir);
        }

        @Override
        public void delete(String path) throws IOException {
            d.delete(path);
        }

        @Override
        public String uri(String path) {
            return d.uri(path);
        }

        @Override
        public void rename(String from, String to) throws IOException {
            d.rename(from, to);
        }

        @Override
        public OutputStream createNew(String path) throws IOException {
            return d.createNew(path);
        }

        @Override
        public boolean atomicCreate() {
            return false;
        }
    }
}
