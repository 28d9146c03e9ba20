package io.bitspark.data.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.bitspark.data.SparkTestSession;
import io.bitspark.data.TestImages;
import io.bitspark.data.image.ImageProcessor;
import io.bitspark.data.image.RejectReason;
import io.bitspark.data.manifest.DatasetManifest;
import io.bitspark.data.shards.BatchRef;
import io.bitspark.data.shards.PreparedDataset;
import io.bitspark.data.shards.ShardReader;

class PrepareJobTest {

    static SparkSession spark;

    @BeforeAll
    static void spark() {
        spark = SparkTestSession.get();
    }

    static PrepareConfig config(Path in, InputFormat f, Path out) {
        return new PrepareConfig(in.toString(), f, out.toString(),
                new ImageProcessor.Config(64, 90, 1L << 20, 4_000_000L, 8), 20_000, 0.2, 7L, null, null, List.of(), 4, 0);
    }

    static DatasetManifest prepare(PrepareConfig c) throws Exception {
        return new PrepareJob(spark, c).run();
    }

    static byte[] fixture(String name) throws Exception {
        try (InputStream in = PrepareJobTest.class.getResourceAsStream("/images/" + name)) {
            return in.readAllBytes();
        }
    }

    /** An image folder of 3 classes x 12 good images, plus one of every bad case (and what it must become). */
    static Map<String, RejectReason> plantFolder(Path root, int perClass, long seedBase) throws Exception {
        Map<String, RejectReason> bad = new HashMap<>();
        for (String cls : List.of("cat", "dog", "fish")) {
            Path d = Files.createDirectories(root.resolve(cls));
            for (int i = 0; i < perClass; i++) {
                long seed = seedBase + cls.hashCode() * 1000L + i;
                byte[] b = i % 3 == 0 ? TestImages.png(seed, 40 + i, 90) : TestImages.jpeg(seed, 120 + 7 * i, 80);
                Files.write(d.resolve(String.format("img%03d.%s", i, i % 3 == 0 ? "png" : "jpg")), b);
            }
        }
        Path cat = root.resolve("cat");
        byte[] good = TestImages.jpeg(99, 200, 150);
        Files.write(cat.resolve("truncated.jpg"), java.util.Arrays.copyOf(good, good.length / 2));
        bad.put("cat/truncated.jpg", RejectReason.TRUNCATED);
        byte[] corrupt = TestImages.png(98, 60, 60);
        for (int i = 40; i < corrupt.length - 16; i++) {
            corrupt[i] ^= 0x33;
        }
        Files.write(cat.resolve("corrupt.png"), corrupt);
        bad.put("cat/corrupt.png", RejectReason.CORRUPT);
        Files.writeString(root.resolve("dog/notes.txt"), "not an image");
        bad.put("dog/notes.txt", RejectReason.UNSUPPORTED_FORMAT);
        Files.write(root.resolve("dog/empty.jpg"), new byte[0]);
        bad.put("dog/empty.jpg", RejectReason.EMPTY);
        Files.write(root.resolve("fish/bomb.png"), fixture("bomb.png"));
        bad.put("fish/bomb.png", RejectReason.TOO_LARGE);
        Files.write(root.resolve("fish/tiny.png"), TestImages.png(97, 5, 5));
        bad.put("fish/tiny.png", RejectReason.TOO_SMALL);
        Files.write(root.resolve("fish/photo.webp"), fixture("webp.webp"));
        bad.put("fish/photo.webp", RejectReason.UNSUPPORTED_FORMAT);
        Files.write(root.resolve("loose.jpg"), TestImages.jpeg(96, 50, 50));
        bad.put("loose.jpg", RejectReason.NO_LABEL);
        return bad;
    }

    static List<Map<String, Object>> rejects(Path out, DatasetManifest m) throws Exception {
        List<Map<String, Object>> rows = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        for (String line : Files.readAllLines(out.resolve(m.rejectsFile()))) {
            @SuppressWarnings("unchecked")
            Map<String, Object> r = json.readValue(line, Map.class);
            rows.add(r);
        }
        return rows;
    }

    static Map<String, List<Integer>> shardRows(Path out, List<DatasetManifest.Shard> shards) {
        Map<String, List<Integer>> rows = new HashMap<>();
        if (shards.isEmpty()) {
            return rows;
        }
        String[] paths = shards.stream().map(s -> out.resolve(s.path()).toString()).toArray(String[]::new);
        for (Row r : spark.read().parquet(paths).select("key", "labels").collectAsList()) {
            rows.put(r.getString(0), r.getList(1));
        }
        return rows;
    }

    @Test
    void everyInputIsWrittenOrRejectedWithItsReason(@TempDir Path tmp) throws Exception {
        Path in = tmp.resolve("in");
        Map<String, RejectReason> planted = plantFolder(in, 12, 0);
        Path out = tmp.resolve("out");
        DatasetManifest m = prepare(config(in, InputFormat.IMAGEFOLDER, out));

        long files;
        try (Stream<Path> s = Files.walk(in)) {
            files = s.filter(Files::isRegularFile).count();
        }
        DatasetManifest.Totals t = m.totals();
        assertEquals(files, t.inputs(), "every file is an input");
        assertEquals(t.inputs(), t.written() + t.rejected());
        assertEquals(36, t.written());
        assertEquals(planted.size(), t.rejected());
        assertEquals(t.written(), t.train() + t.holdout());
        assertTrue(t.holdout() > 0 && t.train() > t.holdout(), t.toString());

        List<Map<String, Object>> rej = rejects(out, m);
        assertEquals(t.rejected(), rej.size());
        Map<String, String> reasonByKey = new HashMap<>();
        rej.forEach(r -> reasonByKey.put((String) r.get("key"), (String) r.get("reason")));
        planted.forEach((k, reason) -> assertEquals(reason.name(), reasonByKey.get(k), k + " -> " + rej));
        rej.forEach(r -> assertTrue(r.get("detail") != null && r.get("source").toString().endsWith(r.get("key").toString())));

        assertEquals(List.of("cat", "dog", "fish"), m.classNames());
        assertEquals(12, m.classes().get(0).count());
        Map<String, List<Integer>> rows = shardRows(out, m.train());
        rows.putAll(shardRows(out, m.holdout()));
        assertEquals(36, rows.size());
        assertEquals(List.of(1), rows.get("dog/img004.jpg"));
        assertEquals(m.train().stream().mapToLong(DatasetManifest.Shard::rows).sum(), t.train());
        assertTrue(m.train().size() > 1, "several shards at a 20 kB target: " + m.train());
        // Images are bounded on the shorter side.
        for (Row r : spark.read().parquet(out.resolve("train").toString()).select("width", "height", "src_width").collectAsList()) {
            assertTrue(Math.min(r.getInt(0), r.getInt(1)) <= 64, r.toString());
        }
        assertEquals(config(in, InputFormat.IMAGEFOLDER, out).asMap().get("seed"), ((Number) m.provenance().config().get("seed")).longValue());
        openedAsAPreparedDataset(tmp, out, m);
    }

    /** What jobs read: the manifest once, the shards' URIs, batches in order that cover a split, and nothing outside. */
    private static void openedAsAPreparedDataset(Path tmp, Path out, DatasetManifest m) throws Exception {
        org.apache.hadoop.conf.Configuration conf = new org.apache.hadoop.conf.Configuration();
        PreparedDataset d = PreparedDataset.open(out.toString(), conf);
        assertEquals(m.toJson(), d.manifest().toJson());
        assertEquals(DatasetManifest.hash(Files.readAllBytes(out.resolve(DatasetManifest.FILE))), d.manifestHash());
        assertEquals(d.uri(), PreparedDataset.open(out.toUri().toString(), conf).uri(), "a path and its file: URI are one data set");
        List<String> keys = new ArrayList<>();
        List<BatchRef> refs = d.inOrder(PreparedDataset.Split.HOLDOUT, 0, 2);
        for (BatchRef r : refs) {
            assertTrue(r.count() <= 2 && r.ranges().size() == 1, r.toString());
            for (ShardReader.Example e : ShardReader.read(conf, r.ranges().get(0).shard(), r.ranges().get(0).from(), r.count())) {
                keys.add(e.key());
            }
        }
        assertEquals(shardRows(out, m.holdout()).keySet(), new java.util.HashSet<>(keys), "the holdout split, each image once");
        assertEquals(keys.size(), new java.util.HashSet<>(keys).size());
        assertEquals(3, d.inOrder(PreparedDataset.Split.TRAIN, 3, 64).stream().mapToInt(BatchRef::count).sum());
        assertEquals(m.train().size(), d.shardUris(PreparedDataset.Split.TRAIN).size());
        assertEquals(PreparedDataset.Split.HOLDOUT, PreparedDataset.Split.parse("holdout"));
        assertThrows(IllegalArgumentException.class, () -> PreparedDataset.Split.parse("test"));

        // A manifest naming a file outside its directory is refused, naming the entry.
        for (String bad : new String[] {"../in/cat/img000.jpg", "/etc/hostname", "file:/etc/hostname", "train/../../x.parquet"}) {
            Path copy = tmp.resolve("escape-" + Math.abs(bad.hashCode()));
            Files.createDirectories(copy);
            String json = m.toJson().replace("\"" + m.train().get(1).path() + "\"", "\"" + bad + "\"");
            Files.writeString(copy.resolve(DatasetManifest.FILE), json);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PreparedDataset.open(copy.toString(), conf));
            assertTrue(e.getMessage().contains("train[1].path '" + bad + "'"), e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PreparedDataset.open(tmp.resolve("nothing").toString(), conf, "--data"));
        assertTrue(e.getMessage().startsWith("--data: ") && e.getMessage().contains("prepare the data set first"), e.getMessage());
    }

    @Test
    void rerunsGiveIdenticalShardsAndNoExtraFiles(@TempDir Path tmp) throws Exception {
        Path in = tmp.resolve("in");
        plantFolder(in, 10, 5);
        Path out = tmp.resolve("out");
        DatasetManifest a = prepare(config(in, InputFormat.IMAGEFOLDER, out));
        Set<Path> filesA = listing(out);
        DatasetManifest b = prepare(config(in, InputFormat.IMAGEFOLDER, out));
        assertEquals(a.train(), b.train(), "same names, rows, sizes and checksums");
        assertEquals(a.holdout(), b.holdout());
        assertEquals(filesA, listing(out), "no duplicated output");
        DatasetManifest c = prepare(config(in, InputFormat.IMAGEFOLDER, tmp.resolve("elsewhere")));
        assertEquals(a.train(), c.train());
        // Another seed shuffles differently.
        PrepareConfig other = config(in, InputFormat.IMAGEFOLDER, tmp.resolve("seed8"));
        other = new PrepareConfig(other.input(), other.format(), other.output(), other.image(), other.shardTargetBytes(),
                other.holdoutFraction(), 8L, null, null, List.of(), 4, 0);
        assertFalse(prepare(other).train().equals(a.train()));
    }

    static Set<Path> listing(Path root) throws Exception {
        try (Stream<Path> s = Files.walk(root)) {
            Set<Path> out = new HashSet<>();
            s.filter(Files::isRegularFile).forEach(p -> out.add(root.relativize(p)));
            return out;
        }
    }

    @Test
    void holdoutIsStableWhenImagesAreAdded(@TempDir Path tmp) throws Exception {
        Path in = tmp.resolve("in");
        plantFolder(in, 10, 11);
        DatasetManifest before = prepare(config(in, InputFormat.IMAGEFOLDER, tmp.resolve("a")));
        Set<String> holdoutBefore = shardRows(tmp.resolve("a"), before.holdout()).keySet();
        Set<String> trainBefore = shardRows(tmp.resolve("a"), before.train()).keySet();
        for (int i = 0; i < 15; i++) {
            Files.write(in.resolve("dog/new" + i + ".jpg"), TestImages.jpeg(5000 + i, 70, 70));
        }
        DatasetManifest after = prepare(config(in, InputFormat.IMAGEFOLDER, tmp.resolve("b")));
        Set<String> holdoutAfter = shardRows(tmp.resolve("b"), after.holdout()).keySet();
        Set<String> trainAfter = shardRows(tmp.resolve("b"), after.train()).keySet();
        assertTrue(holdoutAfter.containsAll(holdoutBefore), "held-out images stay held out");
        assertTrue(trainAfter.containsAll(trainBefore), "training images stay in training");
        assertEquals(before.totals().written() + 15, after.totals().written());
    }

    @Test
    void multiLabelManifestRoundTrips(@TempDir Path tmp) throws Exception {
        Path imgs = Files.createDirectories(tmp.resolve("imgs"));
        List<String> lines = new ArrayList<>();
        Map<String, List<Integer>> expected = new HashMap<>();
        List<String> classes = List.of("person", "car", "tree", "sky");
        for (int i = 0; i < 20; i++) {
            Files.write(imgs.resolve("p" + i + ".jpg"), TestImages.jpeg(300 + i, 64, 48));
            List<Integer> ids = new ArrayList<>();
            for (int c = 0; c < 4; c++) {
                if ((i >> c & 1) == 1) {
                    ids.add(c);
                }
            }
            if (ids.isEmpty()) {
                ids.add(3);
            }
            List<String> names = ids.stream().map(classes::get).toList();
            lines.add("{\"path\": \"imgs/p" + i + ".jpg\", \"labels\": " + new ObjectMapper().writeValueAsString(names) + "}");
            expected.put("imgs/p" + i + ".jpg", ids);
        }
        lines.add("{\"path\": \"imgs/p0.jpg\", \"labels\": [\"car\"]}");        // duplicate key
        lines.add("{\"path\": \"imgs/p1.jpg\", \"labels\": [\"unicorn\"]}");    // unknown class (its key is a duplicate too)
        lines.add("{\"path\": \"imgs/missing.jpg\", \"labels\": [\"car\"]}");   // unreadable
        lines.add("{\"path\": \"imgs/p2.jpg\", \"labels\": []}");              // no label
        Files.write(tmp.resolve("data.jsonl"), lines);
        Files.write(tmp.resolve("classes.txt"), classes);
        PrepareConfig c = config(tmp.resolve("data.jsonl"), InputFormat.MANIFEST, tmp.resolve("out"));
        c = new PrepareConfig(c.input(), c.format(), c.output(), c.image(), c.shardTargetBytes(), 0.0, 1L,
                tmp.resolve("classes.txt").toString(), null, List.of(), 4, 0);
        DatasetManifest m = prepare(c);
        assertTrue(m.multiLabel());
        assertEquals(classes, m.classNames());
        assertEquals(24, m.totals().inputs());
        assertEquals(20, m.totals().written());
        assertEquals(Map.of("DUPLICATE_KEY", 1L, "UNKNOWN_CLASS", 1L, "READ_ERROR", 1L, "NO_LABEL", 1L), m.rejects());
        assertEquals(expected, shardRows(tmp.resolve("out"), m.train()));
    }

    @Test
    void nearDuplicatesOfEvaluationImagesAreRemoved(@TempDir Path tmp) throws Exception {
        Path eval = Files.createDirectories(tmp.resolve("eval/x"));
        Path in = tmp.resolve("in");
        List<String> planted = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            java.awt.image.BufferedImage pic = TestImages.picture(700 + i, 160, 120);
            Files.write(eval.resolve("e" + i + ".png"), TestImages.encode(pic, "png"));
            if (i < 3) {
                // A resized, re-encoded copy hides in the training set.
                java.awt.image.BufferedImage small = new java.awt.image.BufferedImage(96, 72, java.awt.image.BufferedImage.TYPE_INT_RGB);
                java.awt.Graphics2D g = small.createGraphics();
                g.setRenderingHint(java.awt.RenderingHints.KEY_INTERPOLATION, java.awt.RenderingHints.VALUE_INTERPOLATION_BILINEAR);
                g.drawImage(pic, 0, 0, 96, 72, null);
                g.dispose();
                Files.createDirectories(in.resolve("cls"));
                Files.write(in.resolve("cls/copy" + i + ".jpg"), TestImages.encode(small, "jpg"));
                planted.add("cls/copy" + i + ".jpg");
            }
        }
        for (int i = 0; i < 20; i++) {
            Files.createDirectories(in.resolve("cls"));
            Files.write(in.resolve("cls/own" + i + ".jpg"), TestImages.jpeg(900 + i, 100, 80));
        }
        PrepareConfig c = config(in, InputFormat.IMAGEFOLDER, tmp.resolve("out"));
        c = new PrepareConfig(c.input(), c.format(), c.output(), c.image(), c.shardTargetBytes(), c.holdoutFraction(),
                c.seed(), null, null, List.of(tmp.resolve("eval").toString()), 6, 0);
        DatasetManifest m = prepare(c);
        assertEquals(Map.of("NEAR_DUPLICATE_OF_EVAL", 3L), m.rejects());
        Set<String> rejectedKeys = new HashSet<>();
        rejects(tmp.resolve("out"), m).forEach(r -> rejectedKeys.add((String) r.get("key")));
        assertEquals(new HashSet<>(planted), rejectedKeys);
        assertEquals(20, m.totals().written());
    }

    @Test
    void imagenet21kFolderAndTarOfTarsGiveTheSameDataset(@TempDir Path tmp) throws Exception {
        Path folder = Files.createDirectories(tmp.resolve("21k"));
        for (String wnid : List.of("n01440764", "n01443537", "n02084071")) {
            try (TarArchiveOutputStream tar = new TarArchiveOutputStream(Files.newOutputStream(folder.resolve(wnid + ".tar")))) {
                for (int i = 0; i < 5; i++) {
                    put(tar, wnid + "_" + i + ".JPEG", TestImages.jpeg(wnid.hashCode() + i, 90, 70));
                }
                put(tar, "../../etc/evil.JPEG", TestImages.jpeg(1, 50, 50)); // a name, never a path
                put(tar, wnid + "_bad.JPEG", "broken".getBytes());
            }
        }
        Files.writeString(folder.resolve("README.txt"), "release notes");
        Path outer = tmp.resolve("fall11_whole.tar");
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(Files.newOutputStream(outer))) {
            try (Stream<Path> s = Files.list(folder)) {
                for (Path p : s.filter(p -> p.toString().endsWith(".tar")).sorted().toList()) {
                    put(tar, p.getFileName().toString(), Files.readAllBytes(p));
                }
            }
        }
        Files.write(tmp.resolve("words.txt"), List.of("n01440764\ttench, Tinca tinca", "n02084071\tdog, domestic dog"));
        PrepareConfig c1 = config(folder, InputFormat.IMAGENET21K, tmp.resolve("o1"));
        c1 = new PrepareConfig(c1.input(), c1.format(), c1.output(), c1.image(), c1.shardTargetBytes(), c1.holdoutFraction(),
                c1.seed(), null, tmp.resolve("words.txt").toString(), List.of(), 4, 0);
        DatasetManifest a = prepare(c1);
        PrepareConfig c2 = new PrepareConfig(outer.toString(), InputFormat.IMAGENET21K, tmp.resolve("o2").toString(),
                c1.image(), c1.shardTargetBytes(), c1.holdoutFraction(), c1.seed(), null, c1.wordnetNames(), List.of(), 4, 0);
        DatasetManifest b = prepare(c2);
        assertEquals(List.of("n01440764 (tench, Tinca tinca)", "n01443537", "n02084071 (dog, domestic dog)"), a.classNames());
        assertEquals(a.classNames(), b.classNames());
        assertEquals(18, a.totals().written(), "5 images + the oddly named one per synset");
        // The three "broken" entries are not images; the README beside the tars has no synset.
        assertEquals(Map.of("UNSUPPORTED_FORMAT", 3L, "NO_LABEL", 1L), a.rejects());
        assertEquals(Map.of("UNSUPPORTED_FORMAT", 3L), b.rejects());
        assertEquals(a.totals().written(), b.totals().written());
        assertEquals(shardRows(tmp.resolve("o1"), a.train()), shardRows(tmp.resolve("o2"), b.train()));
        assertTrue(shardRows(tmp.resolve("o1"), a.train()).keySet().stream().anyMatch(k -> k.endsWith("/../../etc/evil.JPEG"))
                || shardRows(tmp.resolve("o1"), a.holdout()).keySet().stream().anyMatch(k -> k.endsWith("/../../etc/evil.JPEG")));
        assertFalse(Files.exists(tmp.resolve("etc")), "nothing was extracted");
    }

    static void put(TarArchiveOutputStream tar, String name, byte[] data) throws Exception {
        TarArchiveEntry e = new TarArchiveEntry(name, true);
        e.setSize(data.length);
        tar.putArchiveEntry(e);
        tar.write(data);
        tar.closeArchiveEntry();
    }

    @Test
    void badConfigurationFailsBeforeAnyWork(@TempDir Path tmp) throws Exception {
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> prepare(config(tmp.resolve("nope"), InputFormat.IMAGEFOLDER, tmp.resolve("out"))));
        assertTrue(e.getMessage().contains("does not exist") && e.getMessage().contains("nope"), e.getMessage());
        Path in = Files.createDirectories(tmp.resolve("in"));
        e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> prepare(config(in, InputFormat.IMAGEFOLDER, in.resolve("out"))));
        assertTrue(e.getMessage().contains("must not be inside the input"), e.getMessage());
        assertFalse(Files.exists(in.resolve("out")));
        e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new PrepareConfig(in.toString(), InputFormat.IMAGEFOLDER, "x", ImageProcessor.Config.defaults(),
                        1 << 20, 1.5, 0, null, null, List.of(), 4, 0));
        assertTrue(e.getMessage().contains("holdout fraction"), e.getMessage());
        e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> InputFormat.parse("zip"));
        assertTrue(e.getMessage().contains("imagefolder"), e.getMessage());
    }

    static void writeBytes(Path p, byte[] b) throws Exception {
        try (OutputStream o = Files.newOutputStream(p)) {
            o.write(b);
        }
    }
}
