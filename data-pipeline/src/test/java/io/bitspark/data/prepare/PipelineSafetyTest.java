package io.bitspark.data.prepare;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;

import io.bitspark.data.SparkTestSession;
import io.bitspark.data.TestImages;
import io.bitspark.data.image.ImageProcessor;
import io.bitspark.data.image.RejectReason;
import io.bitspark.data.manifest.DatasetManifest;

/**
 * One corpus of hostile or broken input, prepared as a user would: manifest rows that escape their folder
 * (parent paths, absolute paths, other schemes, a symbolic link, an HTTP server that must receive nothing), an
 * endless HTTP body from an allowed root, an image that decodes and then fails (JPEG encoding), an empty class
 * folder, a symbolic link loop, tar link entries, and Spark splitting shard files (maxRecordsPerFile). Every input is written or rejected with the expected reason, and the
 * shard files hold exactly the rows counted as written.
 */
class PipelineSafetyTest {

    static SparkSession spark;
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void spark() {
        spark = SparkTestSession.get();
    }

    static PrepareConfig config(Path in, InputFormat f, Path out, List<String> roots, boolean overwrite) {
        return new PrepareConfig(in.toString(), f, out.toString(), new ImageProcessor.Config(64, 90, 200_000L, 4_000_000L, 8), 20_000,
                0.2, 7L, null, null, List.of(), 4, 0, roots, overwrite);
    }

    /** Reason of each rejected input, by key. */
    static Map<String, String> rejects(Path out) throws Exception {
        Map<String, String> m = new TreeMap<>();
        for (String line : Files.readAllLines(out.resolve("rejects/rejects.jsonl"))) {
            JsonNode n = JSON.readTree(line);
            m.put(n.get("key").asText(), n.get("reason").asText() + ": " + n.get("detail").asText());
        }
        return m;
    }

    static long rowsInShardFiles(Path out) {
        long n = 0;
        for (String split : new String[] {"train", "holdout"}) {
            if (Files.exists(out.resolve(split)) && out.resolve(split).toFile().list().length > 0) {
                n += spark.read().parquet(out.resolve(split).toString()).count();
            }
        }
        return n;
    }

    static void checkTotals(DatasetManifest m, Path out) {
        DatasetManifest.Totals t = m.totals();
        assertEquals(t.inputs(), t.written() + t.rejected(), "inputs = written + rejected");
        assertEquals(t.written(), rowsInShardFiles(out), "rows in the shard files = written");
        assertEquals(t.written(), m.train().stream().mapToLong(DatasetManifest.Shard::rows).sum()
                + m.holdout().stream().mapToLong(DatasetManifest.Shard::rows).sum(), "every shard file is in the manifest");
    }

    @Test
    void manifestRowsStayInsideTheirRoots(@TempDir Path tmp) throws Exception {
        AtomicInteger forbiddenRequests = new AtomicInteger();
        HttpServer forbidden = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        forbidden.createContext("/", ex -> {
            forbiddenRequests.incrementAndGet();
            byte[] b = TestImages.png(5, 32, 32);
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        HttpServer endless = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        endless.createContext("/", ex -> {
            ex.sendResponseHeaders(200, 0); // chunked, no length: an endless body
            try (OutputStream o = ex.getResponseBody()) {
                o.write(TestImages.jpeg(6, 32, 32), 0, 200);
                byte[] zeros = new byte[1 << 16];
                for (int i = 0; i < 1_000_000; i++) {
                    o.write(zeros);
                }
            } catch (java.io.IOException e) {
                // the reader stopped at its limit and closed the connection
            }
        });
        forbidden.start();
        endless.start();
        try {
            Path m = Files.createDirectories(tmp.resolve("m"));
            Files.createDirectories(m.resolve("img"));
            for (int i = 0; i < 6; i++) {
                Files.write(m.resolve("img/ok" + i + ".jpg"), TestImages.jpeg(i, 40, 40));
            }
            Files.write(tmp.resolve("outside.jpg"), TestImages.jpeg(99, 40, 40));
            Files.createSymbolicLink(m.resolve("img/link.jpg"), tmp.resolve("outside.jpg"));
            int fp = forbidden.getAddress().getPort();
            int ep = endless.getAddress().getPort();
            StringBuilder rows = new StringBuilder();
            for (int i = 0; i < 6; i++) {
                rows.append("{\"key\": \"ok").append(i).append("\", \"path\": \"img/ok").append(i).append(".jpg\", \"label\": \"")
                        .append(i % 2 == 0 ? "cat" : "dog").append("\"}\n");
            }
            String[][] escaping = {
                    {"parent", "../outside.jpg"},
                    {"absolute", tmp.resolve("outside.jpg").toString()},
                    {"file-uri", tmp.resolve("outside.jpg").toUri().toString()},
                    {"dotdot", "img/../../outside.jpg"},
                    {"http", "http://127.0.0.1:" + fp + "/x.png"},
                    {"symlink", "img/link.jpg"},
            };
            for (String[] e : escaping) {
                rows.append("{\"key\": \"").append(e[0]).append("\", \"path\": \"").append(e[1]).append("\", \"label\": \"cat\"}\n");
            }
            rows.append("{\"key\": \"endless\", \"path\": \"http://127.0.0.1:").append(ep).append("/endless.jpg\", \"label\": \"dog\"}\n");
            Files.writeString(m.resolve("index.jsonl"), rows.toString());
            Path out = tmp.resolve("out");
            DatasetManifest man = new PrepareJob(spark, config(m.resolve("index.jsonl"), InputFormat.MANIFEST, out,
                    List.of("http://127.0.0.1:" + ep + "/"), false)).run();
            Map<String, String> r = rejects(out);
            for (String[] e : escaping) {
                assertTrue(r.getOrDefault(e[0], "").startsWith(RejectReason.OUTSIDE_DATA_ROOT.name()), e[0] + ": " + r);
            }
            assertTrue(r.get("endless").startsWith("TOO_LARGE: more than 200000 bytes"), r.get("endless"));
            assertEquals(0, forbiddenRequests.get(), "nothing was fetched from a root that was not allowed");
            assertEquals(6, man.totals().written());
            assertEquals(7, man.totals().rejected());
            checkTotals(man, out);
        } finally {
            forbidden.stop(0);
            endless.stop(0);
        }
    }

    @Test
    void foldersTarsAndSplitShardFilesAreAllAccounted(@TempDir Path tmp) throws Exception {
        Path in = tmp.resolve("in");
        for (String c : new String[] {"cat", "dog"}) {
            Files.createDirectories(in.resolve(c));
            for (int i = 0; i < 12; i++) {
                Files.write(in.resolve(c + "/" + i + ".jpg"), TestImages.jpeg(c.hashCode() + i, 40, 40));
            }
        }
        Files.createDirectories(in.resolve("empty"));
        Files.createSymbolicLink(in.resolve("dog/loop"), in.resolve("dog"));
        // A real image that decodes and then fails: 8 x 70,000 pixels is a valid PNG, but JPEG stops at 65,500 per side.
        Files.write(in.resolve("cat/tall.png"), TestImages.png(77, 8, 70_000));
        Path out = tmp.resolve("out");
        spark.conf().set("spark.sql.files.maxRecordsPerFile", "2");
        DatasetManifest man;
        try {
            man = new PrepareJob(spark, config(in, InputFormat.IMAGEFOLDER, out, List.of(), false)).run();
        } finally {
            spark.conf().unset("spark.sql.files.maxRecordsPerFile");
        }
        assertEquals(List.of("cat", "dog", "empty"), man.classNames(), "the empty class folder keeps its index");
        assertEquals(0, man.classes().get(2).count());
        Map<String, String> r = rejects(out);
        assertEquals(2, r.size(), r.toString());
        assertTrue(r.get("dog/loop").startsWith("NOT_A_FILE: symbolic link loop"), r.toString());
        assertTrue(r.get("cat/tall.png").startsWith("PROCESSING_FAILED: JPEG encoding failed"), r.toString());
        assertEquals(24, man.totals().written());
        assertTrue(man.train().size() >= 24 * 0.8 / 2, "files split at 2 rows are all in the manifest: " + man.train().size());
        checkTotals(man, out);

        // A tar with a symbolic and a hard link entry: rejects naming the link, the images are kept.
        Path synsets = Files.createDirectories(tmp.resolve("synsets"));
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(Files.newOutputStream(synsets.resolve("n001.tar")))) {
            for (int i = 0; i < 3; i++) {
                byte[] b = TestImages.jpeg(200 + i, 40, 40);
                TarArchiveEntry e = new TarArchiveEntry("n001_" + i + ".JPEG");
                e.setSize(b.length);
                tar.putArchiveEntry(e);
                tar.write(b);
                tar.closeArchiveEntry();
            }
            TarArchiveEntry sym = new TarArchiveEntry("n001_sym.JPEG", TarArchiveEntry.LF_SYMLINK);
            sym.setLinkName("/etc/passwd");
            tar.putArchiveEntry(sym);
            tar.closeArchiveEntry();
            TarArchiveEntry hard = new TarArchiveEntry("n001_hard.JPEG", TarArchiveEntry.LF_LINK);
            hard.setLinkName("n001_0.JPEG");
            tar.putArchiveEntry(hard);
            tar.closeArchiveEntry();
        }
        Path out2 = tmp.resolve("out2");
        DatasetManifest t = new PrepareJob(spark, config(synsets, InputFormat.IMAGENET21K, out2, List.of(), false)).run();
        Map<String, String> tr = rejects(out2);
        assertEquals(3, t.totals().written());
        assertTrue(tr.get("n001/n001_sym.JPEG").startsWith("NOT_A_FILE: symbolic link to /etc/passwd"), tr.toString());
        assertTrue(tr.get("n001/n001_hard.JPEG").startsWith("NOT_A_FILE: hard link to n001_0.JPEG"), tr.toString());
        checkTotals(t, out2);
    }

    /** The same inputs and settings again: byte-identical, manifest included; other settings need --overwrite. */
    @Test
    void reRunsAreIdenticalAndOtherSettingsNeedOverwrite(@TempDir Path tmp) throws Exception {
        Path in = tmp.resolve("in");
        for (String c : new String[] {"a", "b"}) {
            Files.createDirectories(in.resolve(c));
            for (int i = 0; i < 5; i++) {
                Files.write(in.resolve(c + "/" + i + ".png"), TestImages.png(c.hashCode() * 7 + i, 30, 30));
            }
        }
        Path out = tmp.resolve("out");
        new PrepareJob(spark, config(in, InputFormat.IMAGEFOLDER, out, List.of(), false)).run();
        byte[] first = Files.readAllBytes(out.resolve(DatasetManifest.FILE));
        new PrepareJob(spark, config(in, InputFormat.IMAGEFOLDER, out, List.of(), false)).run();
        assertArrayEquals(first, Files.readAllBytes(out.resolve(DatasetManifest.FILE)), "an identical re-run writes the same manifest");
        PrepareConfig other = new PrepareConfig(in.toString(), InputFormat.IMAGEFOLDER, out.toString(),
                new ImageProcessor.Config(48, 90, 200_000L, 4_000_000L, 8), 20_000, 0.2, 7L, null, null, List.of(), 4, 0, List.of(), false);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new PrepareJob(spark, other).run());
        assertTrue(e.getMessage().contains("--overwrite") && e.getMessage().contains("image.max_side: 64 -> 48"), e.getMessage());
        PrepareConfig replace = new PrepareConfig(other.input(), other.format(), other.output(), other.image(), other.shardTargetBytes(),
                other.holdoutFraction(), other.seed(), null, null, List.of(), 4, 0, List.of(), true);
        assertEquals(48, ((Number) new PrepareJob(spark, replace).run().provenance().config().get("image.max_side")).intValue());
        // A folder that holds something else is not a place to prepare into either.
        Path busy = Files.createDirectories(tmp.resolve("busy"));
        Files.writeString(busy.resolve("notes.txt"), "x", StandardCharsets.UTF_8);
        e = assertThrows(IllegalArgumentException.class, () -> new PrepareJob(spark, config(in, InputFormat.IMAGEFOLDER, busy, List.of(),
                false)).run());
        assertTrue(e.getMessage().contains("is not empty") && e.getMessage().contains("notes.txt"), e.getMessage());
    }

    /** The README's table of reject reasons lists exactly the reasons the code can emit. */
    @Test
    void theReadmeListsEveryRejectReason() throws Exception {
        String readme = Files.readString(Path.of(System.getProperty("user.dir")).resolve("../README.md"));
        java.util.Set<String> listed = new java.util.TreeSet<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^\\| `([A-Z_]+)` \\|").matcher(readme);
        while (m.find()) {
            listed.add(m.group(1));
        }
        java.util.Set<String> code = new java.util.TreeSet<>();
        for (RejectReason r : RejectReason.values()) {
            code.add(r.name());
        }
        assertEquals(code, listed);
    }

    /** Labels: ';' separates labels only in CSV cells; integer labels must be class indices. */
    @Test
    void labelValues() {
        assertEquals(List.of("a", "b"), Sources.labels("a; b", true));
        assertEquals(List.of("a;b"), Sources.labels("a;b", false), "JSON and Parquet use arrays for several labels");
        assertEquals(List.of("x", "y"), Sources.labels(List.of("x", " y "), false));
    }

    @Test
    void integerLabelsMustBeClassIndices(@TempDir Path tmp) throws Exception {
        Path m = Files.createDirectories(tmp.resolve("m"));
        Files.write(m.resolve("a.jpg"), TestImages.jpeg(1, 40, 40));
        Files.writeString(m.resolve("index.csv"), "path,label\na.jpg,7\na.jpg,12345678901\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new PrepareJob(spark,
                config(m.resolve("index.csv"), InputFormat.MANIFEST, tmp.resolve("out"), List.of(), false)).run());
        assertTrue(e.getMessage().contains("integer label '12345678901' in column 'label'"), e.getMessage());
    }

    /** --dedup-distance accepts exactly what the index finds; evaluation images that cannot be hashed are listed. */
    @Test
    void deduplicationSaysWhatItCannotCheck(@TempDir Path tmp) throws Exception {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new PrepareConfig("in", InputFormat.IMAGEFOLDER, "out",
                new ImageProcessor.Config(64, 90, 200_000L, 4_000_000L, 8), 20_000, 0.2, 7L, null, null, List.of("eval"), 8, 0));
        assertTrue(e.getMessage().contains("0..7"), e.getMessage());
        Path in = tmp.resolve("in");
        Files.createDirectories(in.resolve("a"));
        for (int i = 0; i < 4; i++) {
            Files.write(in.resolve("a/" + i + ".jpg"), TestImages.jpeg(500 + i, 40, 40));
        }
        Path eval = Files.createDirectories(tmp.resolve("eval"));
        Files.write(eval.resolve("good.jpg"), TestImages.jpeg(900, 40, 40));
        Files.write(eval.resolve("broken.jpg"), new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, 1, 2, 3});
        Path out = tmp.resolve("out");
        new PrepareJob(spark, new PrepareConfig(in.toString(), InputFormat.IMAGEFOLDER, out.toString(),
                new ImageProcessor.Config(64, 90, 200_000L, 4_000_000L, 8), 20_000, 0.2, 7L, null, null, List.of(eval.toString()), 4, 0)).run();
        List<String> listed = Files.readAllLines(out.resolve("rejects/dedup-eval-unhashed.jsonl"));
        assertEquals(1, listed.size(), listed.toString());
        assertTrue(listed.get(0).contains("broken.jpg") && listed.get(0).contains("\"reason\":\"TRUNCATED\""), listed.get(0));
    }
}
