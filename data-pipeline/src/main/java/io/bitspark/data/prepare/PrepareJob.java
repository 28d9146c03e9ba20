package io.bitspark.data.prepare;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.pmod;
import static org.apache.spark.sql.functions.xxhash64;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.LongAccumulator;
import org.apache.spark.util.SerializableConfiguration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.bitspark.data.image.RejectReason;
import io.bitspark.data.manifest.DatasetManifest;
import io.bitspark.build.BuildInfo;

/**
 * {@code prepare}: turns an image set into shuffled Parquet shards with a manifest. Every input ends up
 * either in a shard or in the rejects report with a reason ({@code inputs = written + rejected}, stated in
 * the manifest); a bad file never fails the job, a bad configuration fails before any work. Re-running with
 * the same inputs and configuration rewrites byte-identical shards under the same names, and the manifest
 * is written last, so a run killed midway is simply run again.
 */
public final class PrepareJob {

    private static final Logger LOG = LoggerFactory.getLogger(PrepareJob.class);
    /** Salt of the holdout hash; fixed forever so that splits stay stable as data sets grow. */
    static final long HOLDOUT_SALT = 0x5eed_b17L;
    static final String EVAL_LABEL = "__eval__";
    /** Upper bound of a Parquet row group in shards. */
    static final long ROW_GROUP_BYTES = 8L << 20;

    private final SparkSession spark;
    private final PrepareConfig config;
    private final Configuration hadoop;

    public PrepareJob(SparkSession spark, PrepareConfig config) {
        this.spark = spark;
        this.config = config;
        this.hadoop = spark.sparkContext().hadoopConfiguration();
    }

    /** Runs the job; returns the manifest as written. */
    public DatasetManifest run() throws IOException {
        FileSystem outFs = fs(config.output());
        Path out = qualify(config.output());
        refuseToReplace(outFs, out);
        Sources.Listing listing = validateAndList();
        outFs.delete(new Path(out, DatasetManifest.FILE), false);

        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Broadcast<SerializableConfiguration> conf = jsc.broadcast(new SerializableConfiguration(hadoop));
        Map<String, Integer> index = new LinkedHashMap<>();
        for (int i = 0; i < listing.classNames().size(); i++) {
            index.put(listing.classKeys().get(i), i);
        }
        Broadcast<Map<String, Integer>> classIndex = jsc.broadcast(index);
        LongAccumulator done = spark.sparkContext().longAccumulator("prepare.inputs");

        Dataset<Row> processed;
        try (ProgressReporter ignored = new ProgressReporter("prepare", done::value, listing.knownInputs(), 10_000)) {
            jsc.setJobDescription("prepare: read, decode and resize " + config.input());
            processed = listing.refs()
                    .mapPartitions(new ProcessPartition(config.image(), classIndex, conf, done, listing.roots()), Encoders.row(Refs.PROCESSED))
                    .persist(StorageLevel.MEMORY_AND_DISK_SER());
            processed.count();
        }

        Dataset<Row> before = processed;
        NearDuplicateIndex nearDuplicates = nearDuplicateIndex(jsc, conf);
        Broadcast<NearDuplicateIndex> nd = nearDuplicates == null ? null : jsc.broadcast(nearDuplicates);
        int parts = Math.max(1, processed.rdd().getNumPartitions());
        long holdoutThreshold = Math.round(config.holdoutFraction() * 1_000_000);
        // One pass over records grouped by key in input order: the first occurrence of a key stays,
        // later ones are duplicates; kept images are checked against the evaluation sets; the holdout flag
        // is a pure function of the key, so splits stay stable as the data set grows.
        processed = processed
                .withColumn("_holdout", pmod(xxhash64(lit(HOLDOUT_SALT), col(DatasetManifest.COL_KEY)), lit(1_000_000L))
                        .lt(lit(holdoutThreshold)))
                .repartition(parts, col(DatasetManifest.COL_KEY))
                .sortWithinPartitions(col(DatasetManifest.COL_KEY), col("ordinal"), col(DatasetManifest.COL_SOURCE))
                .mapPartitions(new MarkDuplicates(nd), Encoders.row(MarkDuplicates.SCHEMA))
                .persist(StorageLevel.MEMORY_AND_DISK_SER());
        jsc.setJobDescription("prepare: count outcomes");
        Outcomes o = processed.javaRDD().mapPartitions(Outcomes::of).reduce(Outcomes::merge);
        before.unpersist();
        long inputs = o.inputs;
        long rejected = o.rejected;
        long trainRows = o.trainRows;
        long holdoutRows = o.holdoutRows;
        long trainBytes = o.trainBytes;
        long holdoutBytes = o.holdoutBytes;
        Map<String, Long> rejects = new TreeMap<>(o.rejects);
        Map<Integer, Long> perClass = new TreeMap<>(o.perClass);
        Dataset<Row> ok = processed.filter(col("reason").isNull());

        jsc.setJobDescription("prepare: write shuffled train shards");
        List<DatasetManifest.Shard> train = writeShards(ok.filter(col("_holdout").equalTo(false)), "train", trainBytes, trainRows);
        jsc.setJobDescription("prepare: write holdout shards");
        List<DatasetManifest.Shard> holdout = writeShards(ok.filter(col("_holdout").equalTo(true)), "holdout", holdoutBytes, holdoutRows);
        jsc.setJobDescription("prepare: write rejects report");
        String rejectsFile = writeRejects(processed.filter(col("reason").isNotNull()), rejected);
        if (!unhashed.isEmpty()) {
            Path f = new Path(new Path(out, "rejects"), "dedup-eval-unhashed.jsonl");
            try (OutputStream os = outFs.create(f, true)) {
                os.write((String.join("\n", unhashed) + "\n").getBytes(StandardCharsets.UTF_8));
            }
            LOG.warn("{} evaluation image(s) of --dedup-against could not be hashed, so training images are not checked against "
                    + "them; listed in {}", unhashed.size(), f);
        }
        processed.unpersist();

        List<DatasetManifest.ClassEntry> classes = new ArrayList<>();
        for (int i = 0; i < listing.classNames().size(); i++) {
            classes.add(new DatasetManifest.ClassEntry(i, listing.classNames().get(i), perClass.getOrDefault(i, 0L)));
        }
        long written = trainRows + holdoutRows;
        // What the shard files hold, counted from their footers, must be what was counted as written.
        long inFiles = train.stream().mapToLong(DatasetManifest.Shard::rows).sum() + holdout.stream().mapToLong(DatasetManifest.Shard::rows).sum();
        if (inFiles != written) {
            throw new IllegalStateException("accounting error: the shard files hold " + inFiles + " rows, " + written + " were written");
        }
        if (inputs != written + rejected) {
            throw new IllegalStateException("accounting error: " + inputs + " inputs != " + written + " written + " + rejected + " rejected");
        }
        DatasetManifest m = new DatasetManifest(DatasetManifest.FORMAT, classes, listing.multiLabel(), train, holdout,
                new DatasetManifest.Totals(inputs, written, rejected, trainRows, holdoutRows), rejects, rejectsFile,
                new DatasetManifest.Provenance(config.input(), config.format().name().toLowerCase(Locale.ROOT),
                        config.asMap(), config.seed(), BuildInfo.codeVersion(), spark.version(), null));
        try (OutputStream os = outFs.create(new Path(out, DatasetManifest.FILE), true)) {
            os.write(m.toBytes());
        }
        LOG.info("prepared {}: {} inputs = {} written ({} train in {} shards, {} holdout) + {} rejected {}", out, inputs,
                written, trainRows, train.size(), holdoutRows, rejected, rejects);
        return m;
    }

    // ------------------------------------------------------------------ listing and validation

    /**
     * An output that already holds a data set is only rewritten by the same inputs and settings (an identical re-run,
     * which writes identical bytes), or with --overwrite; a folder holding anything else is refused too.
     */
    private void refuseToReplace(FileSystem outFs, Path out) throws IOException {
        if (config.overwrite() || !outFs.exists(out)) {
            return;
        }
        Path mf = new Path(out, DatasetManifest.FILE);
        if (outFs.exists(mf)) {
            DatasetManifest old = io.bitspark.data.shards.PreparedDataset.open(out.toString(), outFs.getConf()).manifest();
            Map<String, Object> before = old.provenance() == null || old.provenance().config() == null ? Map.of() : old.provenance().config();
            Map<String, Object> now = config.asMap();
            List<String> diff = new ArrayList<>();
            for (String k : now.keySet()) {
                if (before.containsKey(k) && !String.valueOf(now.get(k)).equals(String.valueOf(before.get(k)))) {
                    diff.add(k + ": " + before.get(k) + " -> " + now.get(k));
                }
            }
            if (!diff.isEmpty()) {
                throw new IllegalArgumentException(out + " already holds a data set prepared with other inputs or settings " + diff
                        + "; pass --overwrite to replace it (jobs reading it would lose their shards), or choose another --output");
            }
            LOG.info("{} holds a data set prepared with the same inputs and settings: preparing it again", out);
            return;
        }
        FileStatus[] present = outFs.listStatus(out);
        if (present.length > 0) {
            throw new IllegalArgumentException(out + " is not empty and holds no data set (" + present[0].getPath().getName() + ", ...); "
                    + "pass --overwrite to prepare into it anyway, or choose another --output");
        }
    }

    private Sources.Listing validateAndList() throws IOException {
        Path in = qualify(config.input());
        FileSystem inFs = fs(config.input());
        if (!inFs.exists(in)) {
            throw new IllegalArgumentException("input " + in + " does not exist");
        }
        Path out = qualify(config.output());
        String inS = in.toString() + "/";
        String outS = out.toString() + "/";
        if (outS.startsWith(inS) || inS.startsWith(outS)) {
            throw new IllegalArgumentException("output " + out + " must not be inside the input " + in + " or contain it");
        }
        if (config.classNames() != null && !fs(config.classNames()).exists(qualify(config.classNames()))) {
            throw new IllegalArgumentException("class list " + config.classNames() + " does not exist");
        }
        if (config.wordnetNames() != null && !fs(config.wordnetNames()).exists(qualify(config.wordnetNames()))) {
            throw new IllegalArgumentException("WordNet names file " + config.wordnetNames() + " does not exist");
        }
        for (String d : config.dedupAgainst()) {
            if (!fs(d).exists(qualify(d))) {
                throw new IllegalArgumentException("evaluation set " + d + " (--dedup-against) does not exist");
            }
        }
        List<String> classList = config.classNames() == null ? null : readLines(config.classNames());
        Sources sources = new Sources(spark, hadoop, config);
        return switch (config.format()) {
            case IMAGEFOLDER -> sources.imageFolder(in, classList);
            case IMAGENET21K -> sources.imagenet21k(in, classList,
                    config.wordnetNames() == null ? null : readLines(config.wordnetNames()));
            case MANIFEST -> sources.manifest(in, classList);
        };
    }

    List<String> readLines(String uri) throws IOException {
        List<String> lines = new ArrayList<>();
        try (InputStream is = fs(uri).open(qualify(uri));
             BufferedReader r = new BufferedReader(new InputStreamReader(is, StandardCharsets.UTF_8))) {
            String l;
            while ((l = r.readLine()) != null) {
                if (!l.isBlank()) {
                    lines.add(l.strip());
                }
            }
        }
        return lines;
    }

    // ------------------------------------------------------------------ near-duplicates of evaluation sets

    /** Evaluation images of --dedup-against that could not be decoded and hashed (JSON lines). */
    private final List<String> unhashed = new ArrayList<>();
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON_LINE = new com.fasterxml.jackson.databind.ObjectMapper();

    private NearDuplicateIndex nearDuplicateIndex(JavaSparkContext jsc, Broadcast<SerializableConfiguration> conf) throws IOException {
        if (config.dedupAgainst().isEmpty()) {
            return null;
        }
        jsc.setJobDescription("prepare: hash evaluation sets for near-duplicate removal");
        List<Long> hashes = new ArrayList<>();
        List<String> keys = new ArrayList<>();
        Sources sources = new Sources(spark, hadoop, config);
        for (String d : config.dedupAgainst()) {
            Path p = qualify(d);
            if (fs(d).exists(new Path(p, DatasetManifest.FILE))) {
                for (Row r : spark.read().parquet(new Path(p, "train").toString(), new Path(p, "holdout").toString())
                        .select(DatasetManifest.COL_KEY, DatasetManifest.COL_PHASH).collectAsList()) {
                    keys.add(d + ":" + r.getString(0));
                    hashes.add(r.getLong(1));
                }
            } else {
                Dataset<Row> refs = sources.allImages(p, EVAL_LABEL);
                Broadcast<Map<String, Integer>> idx = jsc.broadcast(Map.of(EVAL_LABEL, 0));
                LongAccumulator acc = spark.sparkContext().longAccumulator("prepare.eval");
                for (Row r : refs.mapPartitions(new ProcessPartition(config.image(), idx, conf, acc), Encoders.row(Refs.PROCESSED))
                        .select(DatasetManifest.COL_KEY, DatasetManifest.COL_PHASH, DatasetManifest.COL_SOURCE, "reason", "detail")
                        .collectAsList()) {
                    if (r.isNullAt(3)) {
                        keys.add(d + ":" + r.getString(0));
                        hashes.add(r.getLong(1));
                    } else {
                        // An evaluation image that cannot be hashed cannot be guarded against: it is listed, not skipped.
                        unhashed.add(JSON_LINE.writeValueAsString(Map.of("source", r.getString(2), "reason", r.getString(3),
                                "detail", r.isNullAt(4) ? "" : r.getString(4))));
                    }
                }
            }
        }
        NearDuplicateIndex nd = new NearDuplicateIndex(hashes.stream().mapToLong(Long::longValue).toArray(),
                keys.toArray(new String[0]), config.dedupDistance());
        LOG.info("near-duplicate check against {} evaluation images (distance <= {})", nd.size(), config.dedupDistance());
        return nd;
    }

    // ------------------------------------------------------------------ output

    private static final Pattern PART = Pattern.compile("^part-(\\d+)-.*\\.parquet$");

    /**
     * Shards of roughly equal size: rows go to shard {@code xxhash64(seed, key) mod n} and are sorted by that
     * hash inside the shard (see {@link ShardOrder}), a seeded global shuffle that depends only on keys and seed.
     */
    private List<DatasetManifest.Shard> writeShards(Dataset<Row> rows, String split, long bytes, long count) throws IOException {
        FileSystem outFs = fs(config.output());
        Path dir = new Path(qualify(config.output()), split);
        outFs.delete(dir, true);
        if (count == 0) {
            outFs.mkdirs(dir);
            return List.of();
        }
        int n = (int) Math.max(1, Math.min(count, (bytes + config.shardTargetBytes() - 1) / config.shardTargetBytes()));
        Dataset<Row> cols = rows.withColumn("_order", xxhash64(lit(config.seed()), col(DatasetManifest.COL_KEY)))
                .select(col("_order"), col(DatasetManifest.COL_KEY), col(DatasetManifest.COL_IMAGE), col(DatasetManifest.COL_LABELS),
                        col(DatasetManifest.COL_WIDTH), col(DatasetManifest.COL_HEIGHT), col(DatasetManifest.COL_SRC_WIDTH),
                        col(DatasetManifest.COL_SRC_HEIGHT), col(DatasetManifest.COL_SOURCE), col(DatasetManifest.COL_PHASH));
        org.apache.spark.sql.types.StructType schema = cols.drop("_order").schema();
        org.apache.spark.api.java.JavaRDD<Row> shuffled = cols.javaRDD()
                .mapToPair(r -> new scala.Tuple2<>(new ShardOrder(r.getLong(0), r.getString(1)), r))
                .repartitionAndSortWithinPartitions(new ShardOrder.ShardPartitioner(n))
                .map(t -> {
                    Row r = t._2();
                    Object[] v = new Object[r.length() - 1];
                    for (int k = 1; k < r.length(); k++) {
                        v[k - 1] = r.get(k);
                    }
                    return RowFactory.create(v);
                });
        spark.createDataFrame(shuffled, schema)
                .write().mode(SaveMode.Overwrite).option("compression", "snappy")
                // Small row groups: a training batch reads only the groups that hold its rows.
                .option("parquet.block.size", String.valueOf(Math.min(config.shardTargetBytes(), ROW_GROUP_BYTES)))
                .parquet(dir.toString());
        // Deterministic names in place of Spark's part-NNNNN-<uuid>-cNNN files: every file, in (partition, file) order
        // (spark.sql.files.maxRecordsPerFile splits a partition into several).
        TreeMap<String, Path> parts = new TreeMap<>();
        for (FileStatus s : outFs.listStatus(dir)) {
            Matcher m = PART.matcher(s.getPath().getName());
            if (m.matches()) {
                String name = s.getPath().getName();
                parts.put(String.format(Locale.ROOT, "%010d", Long.parseLong(m.group(1))) + name.substring(name.indexOf('-', 5)), s.getPath());
            } else if (!s.getPath().getName().startsWith(".") && !s.getPath().getName().equals("_SUCCESS")) {
                throw new IllegalStateException(dir + ": unexpected file " + s.getPath().getName() + " after writing the shards");
            } else {
                outFs.delete(s.getPath(), false);
            }
        }
        List<String> names = new ArrayList<>();
        int i = 0;
        for (Path p : parts.values()) {
            String name = String.format(Locale.ROOT, "%s-%05d-of-%05d.parquet", split, i++, parts.size());
            if (!outFs.rename(p, new Path(dir, name))) {
                throw new IOException("could not rename shard " + p + " to " + new Path(dir, name));
            }
            names.add(split + "/" + name);
        }
        removeHidden(outFs, dir);
        return describeShards(names);
    }

    /** Row counts from the Parquet footers and SHA-256 of each file, computed on executors. */
    private List<DatasetManifest.Shard> describeShards(List<String> names) {
        Path root = qualify(config.output());
        Map<String, Long> rows = new TreeMap<>();
        List<String> full = names.stream().map(nm -> new Path(root, nm).toString()).toList();
        for (Row r : spark.read().parquet(full.toArray(new String[0]))
                .groupBy(org.apache.spark.sql.functions.input_file_name()).count().collectAsList()) {
            rows.put(new Path(URI.create(r.getString(0))).getName(), r.getLong(1));
        }
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Broadcast<SerializableConfiguration> conf = jsc.broadcast(new SerializableConfiguration(hadoop));
        List<String> digests = jsc.parallelize(full, Math.max(1, Math.min(full.size(), jsc.defaultParallelism() * 2)))
                .map(p -> {
                    Path path = new Path(p);
                    FileSystem fs = path.getFileSystem(conf.value().value());
                    MessageDigest d = MessageDigest.getInstance("SHA-256");
                    long size = 0;
                    try (InputStream in = fs.open(path)) {
                        byte[] buf = new byte[1 << 16];
                        int k;
                        while ((k = in.read(buf)) > 0) {
                            d.update(buf, 0, k);
                            size += k;
                        }
                    }
                    return path.getName() + "\t" + size + "\t" + HexFormat.of().formatHex(d.digest());
                }).collect();
        Map<String, String[]> byName = new TreeMap<>();
        for (String s : digests) {
            String[] f = s.split("\t");
            byName.put(f[0], f);
        }
        List<DatasetManifest.Shard> out = new ArrayList<>();
        for (String nm : names) {
            String[] f = byName.get(new Path(nm).getName());
            out.add(new DatasetManifest.Shard(nm, rows.getOrDefault(new Path(nm).getName(), 0L), Long.parseLong(f[1]), f[2]));
        }
        return out;
    }

    private String writeRejects(Dataset<Row> rejected, long count) throws IOException {
        FileSystem outFs = fs(config.output());
        Path dir = new Path(qualify(config.output()), "rejects");
        outFs.delete(dir, true);
        rejected.select(col(DatasetManifest.COL_SOURCE), col(DatasetManifest.COL_KEY), col("reason"), col("detail"))
                .repartition(1)
                .sortWithinPartitions(col(DatasetManifest.COL_SOURCE), col(DatasetManifest.COL_KEY))
                .write().mode(SaveMode.Overwrite).json(dir.toString());
        for (FileStatus s : outFs.listStatus(dir)) {
            if (s.getPath().getName().startsWith("part-")) {
                outFs.rename(s.getPath(), new Path(dir, "rejects.jsonl"));
            } else {
                outFs.delete(s.getPath(), false);
            }
        }
        removeHidden(outFs, dir);
        LOG.info("{} rejects listed in {}", count, new Path(dir, "rejects.jsonl"));
        return "rejects/rejects.jsonl";
    }

    // ------------------------------------------------------------------ helpers

    /** Checksum side files (.name.crc) that Hadoop's local file system leaves beside renamed files. */
    private static void removeHidden(FileSystem fs, Path dir) throws IOException {
        for (FileStatus s : fs.listStatus(dir)) {
            if (s.getPath().getName().startsWith(".")) {
                fs.delete(s.getPath(), false);
            }
        }
    }

    Path qualify(String uri) {
        try {
            Path p = new Path(uri);
            return p.getFileSystem(hadoop).makeQualified(p);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot resolve " + uri + ": " + e.getMessage(), e);
        }
    }

    FileSystem fs(String uri) throws IOException {
        return new Path(uri).getFileSystem(hadoop);
    }

    static TreeSet<String> sorted(Iterable<String> s) {
        TreeSet<String> t = new TreeSet<>();
        s.forEach(t::add);
        return t;
    }
}
