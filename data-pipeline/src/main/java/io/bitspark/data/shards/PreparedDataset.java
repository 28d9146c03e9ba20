package io.bitspark.data.shards;

import java.io.ByteArrayInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import io.bitspark.data.manifest.DatasetManifest;

/**
 * A data set written by {@code bit prepare}, opened once from its directory URI (a local path, {@code file:},
 * {@code hdfs:}, {@code s3a:} ...) through one Hadoop configuration: its manifest and the manifest's hash, its
 * classes, the URIs of each split's shards, and the batches to read from them ({@link BatchRef}s, which
 * executors turn into images). Every shard path the manifest names is checked to stay inside the directory, so a
 * manifest cannot make a job read anything else.
 */
public final class PreparedDataset {

    /** The splits of a prepared data set. */
    public enum Split {
        TRAIN, HOLDOUT;

        /** "train" or "holdout", as options and configuration spell them. */
        public static Split parse(String s) {
            for (Split v : values()) {
                if (v.label().equals(s)) {
                    return v;
                }
            }
            throw new IllegalArgumentException("split must be train or holdout, got '" + s + "'");
        }

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final String uri;
    private final byte[] manifestBytes;
    private final DatasetManifest manifest;
    private final List<String> train;
    private final List<String> holdout;

    private PreparedDataset(String uri, byte[] manifestBytes, DatasetManifest manifest, List<String> train, List<String> holdout) {
        this.uri = uri;
        this.manifestBytes = manifestBytes;
        this.manifest = manifest;
        this.train = train;
        this.holdout = holdout;
    }

    /** Opens the data set at directory {@code uri}; {@code what} prefixes errors (e.g. the setting that named it). */
    public static PreparedDataset open(String uri, Configuration conf, String what) throws IOException {
        Path root = directory(uri);
        FileSystem fs = root.getFileSystem(conf);
        root = fs.makeQualified(root);
        Path file = new Path(root, DatasetManifest.FILE);
        byte[] bytes;
        try (InputStream in = fs.open(file)) {
            bytes = in.readAllBytes();
        } catch (FileNotFoundException e) {
            throw new IllegalArgumentException(prefix(what) + file + " not found: prepare the data set first (bit prepare)");
        }
        DatasetManifest m = DatasetManifest.read(new ByteArrayInputStream(bytes), file.toString());
        return new PreparedDataset(root.toString(), bytes, m, shardUris(root, m.train(), "train", file),
                shardUris(root, m.holdout(), "holdout", file));
    }

    /** As {@link #open(String, Configuration, String)} with no prefix. */
    public static PreparedDataset open(String uri, Configuration conf) throws IOException {
        return open(uri, conf, null);
    }

    private static String prefix(String what) {
        return what == null ? "" : what + ": ";
    }

    private static Path directory(String uri) {
        String u = uri.endsWith("/") && uri.length() > 1 ? uri.substring(0, uri.length() - 1) : uri;
        URI parsed;
        try {
            parsed = new URI(u);
        } catch (java.net.URISyntaxException e) {
            parsed = null; // a local path with characters a URI does not allow
        }
        if (parsed != null && parsed.getScheme() != null && !parsed.getScheme().equals("file")) {
            return new Path(parsed);
        }
        java.nio.file.Path local = parsed != null && "file".equals(parsed.getScheme()) ? java.nio.file.Path.of(parsed) : java.nio.file.Path.of(u);
        return new Path("file", null, local.toAbsolutePath().normalize().toString());
    }

    private static List<String> shardUris(Path root, List<DatasetManifest.Shard> shards, String split, Path manifest) {
        List<String> out = new ArrayList<>(shards.size());
        for (int i = 0; i < shards.size(); i++) {
            String p = shards.get(i).path();
            if (p == null || p.isEmpty() || p.startsWith("/") || p.contains(":") || p.contains("\\")
                    || Arrays.asList(p.split("/")).contains("..")) {
                throw new IllegalArgumentException(manifest + ": " + split + "[" + i + "].path '" + p
                        + "' is not a file inside the data set's directory");
            }
            out.add(new Path(root, p).toString());
        }
        return List.copyOf(out);
    }

    /** The directory, as a qualified URI. */
    public String uri() {
        return uri;
    }

    public DatasetManifest manifest() {
        return manifest;
    }

    /** The manifest's hash ({@link DatasetManifest#hash}): what a run records to resume only on the same data. */
    public String manifestHash() {
        return DatasetManifest.hash(manifestBytes);
    }

    public List<String> classNames() {
        return manifest.classNames();
    }

    public int numClasses() {
        return manifest.numClasses();
    }

    public boolean multiLabel() {
        return manifest.multiLabel();
    }

    public List<DatasetManifest.Shard> shards(Split split) {
        return split == Split.TRAIN ? manifest.train() : manifest.holdout();
    }

    /** The URIs of a split's shards, in manifest order. */
    public List<String> shardUris(Split split) {
        return split == Split.TRAIN ? train : holdout;
    }

    /** Images in a split. */
    public long rows(Split split) {
        return shards(split).stream().mapToLong(DatasetManifest.Shard::rows).sum();
    }

    /** The training order of global batches of {@code globalBatch} rows for {@code seed}. */
    public BatchPlan plan(int globalBatch, long seed) {
        return new BatchPlan(train, manifest.train().stream().mapToLong(DatasetManifest.Shard::rows).toArray(), globalBatch, seed);
    }

    /**
     * The first {@code max} rows of a split ({@code max <= 0}: all) in shard order, as batches of at most
     * {@code batch} rows that do not cross shards (epoch 0).
     */
    public List<BatchRef> inOrder(Split split, long max, int batch) {
        if (batch < 1) {
            throw new IllegalArgumentException("batch must be at least 1, got " + batch);
        }
        List<DatasetManifest.Shard> shards = shards(split);
        List<String> uris = shardUris(split);
        List<BatchRef> out = new ArrayList<>();
        long left = max > 0 ? max : Long.MAX_VALUE;
        for (int s = 0; s < shards.size() && left > 0; s++) {
            long rows = shards.get(s).rows();
            for (long from = 0; from < rows && left > 0; from += batch) {
                int n = (int) Math.min(Math.min(batch, rows - from), left);
                out.add(new BatchRef(uris.get(s), from, n, 0));
                left -= n;
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return uri;
    }
}
