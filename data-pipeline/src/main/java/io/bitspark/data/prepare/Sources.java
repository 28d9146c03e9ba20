package io.bitspark.data.prepare;

import static org.apache.spark.sql.functions.col;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.SerializableConfiguration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns each input layout into references ({@link Refs#REF}) plus the class index. Listing is distributed
 * where Spark can (image folders), headers-only where it cannot (a tar of tars). Class index order: the
 * class list file's line order when given, else sorted names (or the integers themselves for integer labels).
 */
final class Sources {

    private static final Logger LOG = LoggerFactory.getLogger(Sources.class);
    /** Largest integer label read as a class index (a larger one is most likely an identifier, not a class). */
    static final int MAX_INTEGER_LABEL = 1_000_000;

    /** References to process, class keys (as labels appear in the input) with display names, and counts. */
    record Listing(Dataset<Row> refs, List<String> classKeys, List<String> classNames, boolean multiLabel, long knownInputs,
                   DataRoots roots) {}

    private final SparkSession spark;
    private final Configuration hadoop;
    private final PrepareConfig config;

    Sources(SparkSession spark, Configuration hadoop, PrepareConfig config) {
        this.spark = spark;
        this.hadoop = hadoop;
        this.config = config;
    }

    // ------------------------------------------------------------------ imagefolder

    Listing imageFolder(Path root, List<String> classList) throws IOException {
        Dataset<Row> listed = listFiles(root, null).persist(org.apache.spark.storage.StorageLevel.MEMORY_AND_DISK());
        long n = listed.count();
        Dataset<Row> refs = listed.repartition(processingPartitions(n), col("key"));
        List<String> keys;
        if (classList != null) {
            keys = classList;
        } else {
            // Every top-level folder is a class, also one without images (it keeps its index, with count 0).
            TreeSet<String> names = new TreeSet<>(refs.select(org.apache.spark.sql.functions.explode(col("labels")))
                    .distinct().as(Encoders.STRING()).collectAsList());
            TreeSet<String> folders = new TreeSet<>();
            for (FileStatus s : root.getFileSystem(hadoop).listStatus(root)) {
                if (s.isDirectory()) {
                    folders.add(s.getPath().getName());
                }
            }
            TreeSet<String> empty = new TreeSet<>(folders);
            empty.removeAll(names);
            if (!empty.isEmpty()) {
                LOG.warn("image folder {}: {} class folder(s) hold no files and stay in the class index with count 0: {}", root,
                        empty.size(), empty);
            }
            names.addAll(folders);
            keys = new ArrayList<>(names);
        }
        LOG.info("image folder {}: {} files, {} classes", root, n, keys.size());
        return new Listing(refs, keys, keys, false, n, null);
    }

    /** Every file under {@code root} as a reference with one fixed label (evaluation sets). */
    Dataset<Row> allImages(Path root, String label) throws IOException {
        return listFiles(root, label);
    }

    /**
     * File references for every file below {@code root}, empty and hidden ones included (they are inputs
     * too). Top-level directories are listed on executors in parallel; the first path segment is the
     * label unless {@code fixedLabel} is given.
     */
    private Dataset<Row> listFiles(Path root, String fixedLabel) throws IOException {
        FileSystem fs = root.getFileSystem(hadoop);
        String prefix = root.toString() + "/";
        List<Row> rootFiles = new ArrayList<>();
        List<String> dirs = new ArrayList<>();
        for (FileStatus s : fs.listStatus(root)) {
            if (s.isDirectory()) {
                dirs.add(s.getPath().toString());
            } else {
                String rel = s.getPath().getName();
                rootFiles.add(RowFactory.create(Refs.FILE, rel, s.getPath().toString(),
                        Refs.seq(fixedLabel == null ? List.<String>of() : List.of(fixedLabel)), null, 0L, s.getLen()));
            }
        }
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Broadcast<SerializableConfiguration> conf = jsc.broadcast(new SerializableConfiguration(hadoop));
        Dataset<Row> listed = spark.createDataFrame(rootFiles, Refs.REF);
        if (!dirs.isEmpty()) {
            JavaRDD<Row> nested = jsc.parallelize(dirs, Math.max(1, Math.min(dirs.size(), 4 * jsc.defaultParallelism())))
                    .flatMap(d -> {
                        Path dir = new Path(d);
                        FileSystem dfs = dir.getFileSystem(conf.value().value());
                        List<Row> rows = new ArrayList<>();
                        // listStatus, not listFiles: located statuses load permissions, which on the local
                        // file system forks a process per file.
                        java.util.ArrayDeque<Path> todo = new java.util.ArrayDeque<>(List.of(dir));
                        java.util.Set<String> seen = new java.util.HashSet<>();
                        while (!todo.isEmpty()) {
                            Path current = todo.poll();
                            String here = current.toString();
                            String relDir = here.startsWith(prefix) ? here.substring(prefix.length()) : here;
                            String dirLabel = fixedLabel != null ? fixedLabel : relDir.contains("/") ? relDir.substring(0, relDir.indexOf('/')) : relDir;
                            // A directory reached twice (a symbolic link to an ancestor) is listed once; the link is a reject.
                            String real = realPath(current);
                            if (real != null && !seen.add(real)) {
                                rows.add(RowFactory.create(Refs.REJECTED, relDir, here, Refs.seq(List.of(dirLabel)),
                                        Refs.rejection(io.bitspark.data.image.RejectReason.NOT_A_FILE, "symbolic link loop: " + here
                                                + " is " + real + ", already listed"), 0L, -1L));
                                continue;
                            }
                            FileStatus[] children;
                            try {
                                children = dfs.listStatus(current);
                            } catch (IOException e) {
                                rows.add(RowFactory.create(Refs.REJECTED, relDir, here, Refs.seq(List.of(dirLabel)),
                                        Refs.rejection(io.bitspark.data.image.RejectReason.NOT_A_FILE, "cannot list directory: "
                                                + e.getClass().getSimpleName() + ": " + e.getMessage()), 0L, -1L));
                                continue;
                            }
                            for (FileStatus f : children) {
                                if (f.isDirectory()) {
                                    todo.add(f.getPath());
                                    continue;
                                }
                                String path = f.getPath().toString();
                                String rel = path.startsWith(prefix) ? path.substring(prefix.length()) : path;
                                String label = fixedLabel != null ? fixedLabel : rel.substring(0, rel.indexOf('/'));
                                rows.add(RowFactory.create(Refs.FILE, rel, path, Refs.seq(List.of(label)), null, 0L, f.getLen()));
                            }
                        }
                        return rows.iterator();
                    });
            listed = listed.union(spark.createDataFrame(nested, Refs.REF));
        }
        return listed;
    }

    /** The real path (links resolved) of a local directory, or null on other file systems. */
    static String realPath(Path p) {
        if (!"file".equals(p.toUri().getScheme())) {
            return null;
        }
        try {
            return java.nio.file.Path.of(p.toUri().getPath()).toRealPath().toString();
        } catch (IOException e) {
            return null;
        }
    }

    // ------------------------------------------------------------------ imagenet21k

    Listing imagenet21k(Path input, List<String> classList, List<String> wordnet) throws IOException {
        FileSystem fs = input.getFileSystem(hadoop);
        List<Row> refs = new ArrayList<>();
        TreeSet<String> wnids = new TreeSet<>();
        FileStatus st = fs.getFileStatus(input);
        if (st.isDirectory()) {
            for (FileStatus s : fs.listStatus(input)) {
                String name = s.getPath().getName();
                if (s.isFile() && name.endsWith(".tar")) {
                    String wnid = name.substring(0, name.length() - 4);
                    wnids.add(wnid);
                    refs.add(RowFactory.create(Refs.TAR, wnid, s.getPath().toString(), Refs.seq(List.of(wnid)), null, 0L, -1L));
                } else if (s.isFile()) {
                    // Not a synset tar: still an input, and it will be reported (no label / not an image).
                    refs.add(RowFactory.create(Refs.FILE, name, s.getPath().toString(), Refs.seq(List.of()), null, 0L, s.getLen()));
                }
            }
        } else {
            // One tar of per-synset tars: index it by headers, then each synset is its own task.
            List<TarIndex.Entry> entries;
            try (InputStream in = fs.open(input)) {
                entries = TarIndex.scan(in);
            }
            for (TarIndex.Entry e : entries) {
                String base = e.name().substring(e.name().lastIndexOf('/') + 1);
                if (base.endsWith(".tar")) {
                    String wnid = base.substring(0, base.length() - 4);
                    wnids.add(wnid);
                    refs.add(RowFactory.create(Refs.TAR, wnid, input.toString(), Refs.seq(List.of(wnid)), null, e.offset(), e.size()));
                } else {
                    refs.add(RowFactory.create(Refs.TAR, "#not-a-synset/" + e.name(), input.toString(), Refs.seq(List.of()), null,
                            e.offset() - 512, 512 + ((e.size() + 511) / 512) * 512));
                }
            }
        }
        List<String> keys = classList != null ? classList : new ArrayList<>(wnids);
        Map<String, String> lemmas = new LinkedHashMap<>();
        if (wordnet != null) {
            for (String line : wordnet) {
                String[] f = line.split("\t", 2);
                if (f.length == 2) {
                    lemmas.put(f[0].strip(), f[1].strip());
                }
            }
        }
        List<String> names = keys.stream().map(k -> lemmas.containsKey(k) ? k + " (" + lemmas.get(k) + ")" : k).toList();
        Dataset<Row> ds = spark.createDataFrame(refs, Refs.REF);
        // One synset tar per task: sizes vary, and many small tasks balance better than few large ones.
        ds = ds.repartition(Math.max(1, Math.min(refs.size(), config.partitions() > 0 ? config.partitions() : refs.size())), col("key"));
        LOG.info("imagenet21k {}: {} synset tars", input, wnids.size());
        return new Listing(ds, keys, names, false, -1, null);
    }

    // ------------------------------------------------------------------ manifest

    Listing manifest(Path file, List<String> classList) {
        String name = file.getName().toLowerCase(Locale.ROOT);
        Dataset<Row> rows;
        if (name.endsWith(".csv")) {
            rows = spark.read().option("header", "true").option("mode", "PERMISSIVE").csv(file.toString());
        } else if (name.endsWith(".jsonl") || name.endsWith(".json")) {
            rows = spark.read().json(file.toString());
        } else if (name.endsWith(".parquet")) {
            rows = spark.read().parquet(file.toString());
        } else {
            throw new IllegalArgumentException("manifest " + file + ": expected a .csv, .jsonl/.json or .parquet file");
        }
        List<String> columns = List.of(rows.columns());
        boolean hasPath = columns.contains("path");
        String bytesCol = columns.contains("bytes") ? "bytes" : columns.contains("image") ? "image" : null;
        String labelsCol = columns.contains("labels") ? "labels" : columns.contains("label") ? "label" : null;
        if (!hasPath && bytesCol == null) {
            throw new IllegalArgumentException("manifest " + file + ": needs a 'path' column or inline 'bytes'/'image'; has " + columns);
        }
        if (labelsCol == null) {
            throw new IllegalArgumentException("manifest " + file + ": needs a 'label' or 'labels' column; has " + columns);
        }
        DataType labelType = rows.schema().apply(labelsCol).dataType();
        DataType bytesType = bytesCol == null ? null : rows.schema().apply(bytesCol).dataType();
        boolean hasKey = columns.contains("key");
        DataRoots roots = new DataRoots(file.getParent().toString() + "/", config.allowRoots());
        String manifestUri = file.toString();
        String[] cols = new String[] {hasKey ? "key" : null, hasPath ? "path" : null, bytesCol, labelsCol};
        // Single- or multi-label, for the whole data set: multi-label when the column is 'labels' (plural) or holds arrays,
        // or with --multi-label; a 'label' column is single-label (its CSV cells are never split at ';').
        boolean multi = config.multiLabel() || labelsCol.equals("labels") || labelType instanceof ArrayType;
        boolean csv = name.endsWith(".csv") && multi;
        // The row's position in the manifest: among rows with the same key, the first one is kept.
        rows = rows.withColumn("_ordinal", org.apache.spark.sql.functions.monotonically_increasing_id());
        Dataset<Row> refs = rows.map((MapFunction<Row, Row>) r -> {
            String path = hasPath ? (String) r.getAs("path") : null;
            DataRoots.Resolved where = path == null ? null : roots.resolve(path);
            String uri = where == null ? null : where.uri();
            int li = r.fieldIndex(cols[3]);
            List<String> labels = r.isNullAt(li) ? List.of()
                    : r.schema().apply(li).dataType() instanceof ArrayType ? labels(r.getList(li), false) : labels(r.get(li), csv);
            byte[] inline = null;
            if (cols[2] != null && r.getAs(cols[2]) != null) {
                Object b = r.getAs(cols[2]);
                inline = b instanceof byte[] bb ? bb : java.util.Base64.getDecoder().decode(b.toString());
            }
            String key = hasKey && r.getAs("key") != null ? r.getAs("key").toString()
                    : path != null ? path : "sha1:" + sha1(inline);
            long ordinal = r.getLong(r.fieldIndex("_ordinal"));
            if (where != null && where.outside() != null) {
                return RowFactory.create(Refs.REJECTED, key, path, Refs.seq(labels),
                        Refs.rejection(io.bitspark.data.image.RejectReason.OUTSIDE_DATA_ROOT, where.outside()), ordinal, -1L);
            }
            if (uri != null) {
                return RowFactory.create(Refs.FILE, key, uri, Refs.seq(labels), null, ordinal, -1L);
            }
            return RowFactory.create(Refs.INLINE, key, manifestUri + "#" + key, Refs.seq(labels), inline, ordinal, -1L);
        }, Encoders.row(Refs.REF));
        // Sizes of path rows are unknown until opened; the processor applies the byte limit after reading.
        long n = refs.count();
        refs = refs.repartition(processingPartitions(n), col("key"));
        List<String> labelValues = refs.select(org.apache.spark.sql.functions.explode(col("labels"))).distinct()
                .as(Encoders.STRING()).collectAsList();
        List<String> keys;
        if (classList != null) {
            keys = classList;
        } else if (!labelValues.isEmpty() && labelValues.stream().allMatch(v -> v.matches("\\d+"))) {
            // Integer labels are class indices 0..max; classes between without rows stay, with count 0.
            for (String v : labelValues) {
                if (v.length() > 7 || Integer.parseInt(v) > MAX_INTEGER_LABEL || v.length() > 1 && v.startsWith("0")) {
                    throw new IllegalArgumentException("manifest " + file + ": integer label '" + v + "' in column '" + labelsCol + "' is not a "
                            + "class index 0.." + MAX_INTEGER_LABEL + " without leading zeros; give the classes with --class-names");
                }
            }
            int max = labelValues.stream().mapToInt(Integer::parseInt).max().orElse(-1);
            keys = new ArrayList<>();
            for (int i = 0; i <= max; i++) {
                keys.add(String.valueOf(i));
            }
        } else {
            keys = new ArrayList<>(new TreeSet<>(labelValues));
        }
        LOG.info("manifest {}: {} rows ({}: {}), {} classes, label column '{}' of type {}, bytes column {}", file, n,
                multi ? "multi-label" : "single-label", config.multiLabel() ? "--multi-label" : "the label column is '" + labelsCol + "' of type "
                        + labelType.simpleString(), keys.size(), labelsCol, labelType.simpleString(),
                bytesType == null ? "-" : bytesType.simpleString());
        return new Listing(refs, keys, keys, multi, n, roots);
    }

    /**
     * Labels from a value: an array's elements; in a CSV cell, "a;b;c" (CSV has no arrays); otherwise the value itself,
     * {@code ;} included (JSON and Parquet say lists with arrays).
     */
    static List<String> labels(Object v, boolean splitSemicolons) {
        if (v == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        if (v instanceof List<?> l) {
            for (Object o : l) {
                if (o != null && !o.toString().isBlank()) {
                    out.add(o.toString().strip());
                }
            }
        } else if (splitSemicolons) {
            for (String s : v.toString().split(";")) {
                if (!s.isBlank()) {
                    out.add(s.strip());
                }
            }
        } else if (!v.toString().isBlank()) {
            out.add(v.toString().strip());
        }
        return Collections.unmodifiableList(out);
    }

    static String sha1(byte[] b) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-1").digest(b == null ? new byte[0] : b));
    }

    private int processingPartitions(long n) {
        if (config.partitions() > 0) {
            return config.partitions();
        }
        int par = spark.sparkContext().defaultParallelism();
        // Enough tasks for balance and progress, a few thousand images each at most.
        return (int) Math.max(1, Math.min(Math.max(n, 1), Math.max(4L * par, (n + 1999) / 2000)));
    }
}
