package io.bitspark.data.shards;

import java.io.IOException;
import java.io.Serializable;
import java.util.List;
import java.util.function.IntFunction;

import org.apache.hadoop.conf.Configuration;
import org.apache.spark.util.SerializableConfiguration;

import io.bitspark.data.image.Augment;

/**
 * Turns a {@link BatchRef} into pixels and labels where it is read (an executor, or the driver for a check): reads
 * the rows from their shards, decodes each image, and for training augments it with a generator seeded by (run
 * seed, epoch, key), so a batch is the same wherever it is computed; evaluation views resize the whole image.
 * Nothing decoded is kept: memory does not grow with the data set.
 */
public final class BatchDecoder implements Serializable {

    private static final long serialVersionUID = 1L;

    /** {@code size} images as CHW floats in [-1, 1] one after another, and each image's class indices. */
    public record Batch(int size, int resolution, float[] pixels, int[][] labels) {

        /** One-hot (single-label) or k-hot (multi-label) rows of {@code classes} floats. */
        public float[] kHot(int classes) {
            float[] y = new float[size * classes];
            for (int i = 0; i < size; i++) {
                for (int c : labels[i]) {
                    y[i * classes + c] = 1f;
                }
            }
            return y;
        }
    }

    private final SerializableConfiguration hadoop;
    private final Augment.Config augment;
    private final int numClasses;
    private final long seed;
    private final boolean train;

    public BatchDecoder(Configuration hadoop, Augment.Config augment, int numClasses, long seed, boolean train) {
        this.hadoop = new SerializableConfiguration(hadoop);
        this.augment = augment;
        this.numClasses = numClasses;
        this.seed = seed;
        this.train = train;
    }

    public int numClasses() {
        return numClasses;
    }

    public int resolution() {
        return augment.resolution();
    }

    /** The batch's images and labels; a row that does not decode, or has a label outside the classes, is an error naming it. */
    public Batch decode(BatchRef ref) throws IOException {
        int n = ref.count();
        int r = augment.resolution();
        float[] x = new float[n * 3 * r * r];
        int[][] labels = new int[n][];
        int at = 0;
        for (BatchRef.Range range : ref.ranges()) {
            List<ShardReader.Example> rows = ShardReader.read(hadoop.value(), range.shard(), range.from(), range.count());
            if (rows.size() != range.count()) {
                throw new IOException(range.shard() + ": rows " + range.from() + ".." + (range.from() + range.count())
                        + " asked, " + rows.size() + " read");
            }
            View view = train
                    ? (e, out, offset) -> Augment.train(e.jpeg(), augment, Augment.rng(seed, ref.epoch(), e.key()), out, offset)
                    : (e, out, offset) -> Augment.eval(e.jpeg(), augment, out, offset);
            fill(rows, r, numClasses, view, j -> range.shard() + " row " + (range.from() + j), x, labels, at);
            at += rows.size();
        }
        return new Batch(n, r, x, labels);
    }

    /** How one stored row becomes its view: CHW floats in [-1, 1] written at {@code out[offset..]}. */
    @FunctionalInterface
    public interface View {
        void render(ShardReader.Example row, float[] out, int offset) throws IOException;
    }

    /**
     * Rows already read (a transfer set held in memory) through {@code view} at {@code resolution}, with the same
     * checks as a batch read from shards; {@code where} names row {@code i} in errors.
     */
    public static Batch decode(List<ShardReader.Example> rows, int resolution, int numClasses, View view, IntFunction<String> where)
            throws IOException {
        float[] x = new float[rows.size() * 3 * resolution * resolution];
        int[][] labels = new int[rows.size()][];
        fill(rows, resolution, numClasses, view, where, x, labels, 0);
        return new Batch(rows.size(), resolution, x, labels);
    }

    private static void fill(List<ShardReader.Example> rows, int resolution, int numClasses, View view, IntFunction<String> where,
                             float[] x, int[][] labels, int start) throws IOException {
        int per = 3 * resolution * resolution;
        for (int j = 0; j < rows.size(); j++) {
            ShardReader.Example e = rows.get(j);
            int i = start + j;
            try {
                view.render(e, x, i * per);
            } catch (IOException ex) {
                throw new IOException(where.apply(j) + " (" + e.key() + "): " + ex.getMessage(), ex);
            }
            for (int c : e.labels()) {
                if (c < 0 || c >= numClasses) {
                    throw new IOException(where.apply(j) + " (" + e.key() + "): label " + c + " outside 0.." + (numClasses - 1));
                }
            }
            labels[i] = e.labels().clone();
        }
    }
}
