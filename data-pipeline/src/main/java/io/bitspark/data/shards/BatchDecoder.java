package io.bitspark.data.shards;

import java.io.IOException;
import java.io.Serializable;
import java.util.List;

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
        int per = 3 * r * r;
        float[] x = new float[n * per];
        int[][] labels = new int[n][];
        int i = 0;
        for (BatchRef.Range range : ref.ranges()) {
            List<ShardReader.Example> rows = ShardReader.read(hadoop.value(), range.shard(), range.from(), range.count());
            if (rows.size() != range.count()) {
                throw new IOException(range.shard() + ": rows " + range.from() + ".." + (range.from() + range.count())
                        + " asked, " + rows.size() + " read");
            }
            for (int j = 0; j < rows.size(); j++, i++) {
                ShardReader.Example e = rows.get(j);
                String where = range.shard() + " row " + (range.from() + j) + " (" + e.key() + ")";
                try {
                    if (train) {
                        Augment.train(e.jpeg(), augment, Augment.rng(seed, ref.epoch(), e.key()), x, i * per);
                    } else {
                        Augment.eval(e.jpeg(), augment, x, i * per);
                    }
                } catch (IOException ex) {
                    throw new IOException(where + ": " + ex.getMessage(), ex);
                }
                for (int c : e.labels()) {
                    if (c < 0 || c >= numClasses) {
                        throw new IOException(where + ": label " + c + " outside 0.." + (numClasses - 1));
                    }
                }
                labels[i] = e.labels().clone();
            }
        }
        return new Batch(n, r, x, labels);
    }
}
