package io.bitspark.jobs.pretrain;

import java.io.IOException;
import java.util.List;

import org.apache.hadoop.conf.Configuration;
import org.apache.spark.util.SerializableConfiguration;
import org.deeplearning4j.core.loader.DataSetLoader;
import org.nd4j.common.loader.Source;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import io.bitspark.data.image.Augment;
import io.bitspark.data.shards.BatchRef;
import io.bitspark.data.shards.ShardReader;

/**
 * Turns a {@link BatchRef} into a batch on the executor that trains on it: reads the rows from the shard,
 * decodes and augments each image with a generator seeded by (run seed, epoch, key), so a batch is the same
 * wherever it is computed, and builds one-hot (single-label) or k-hot (multi-label) labels. Nothing decoded
 * is kept: memory does not grow with the data set.
 */
public final class ShardBatchLoader implements DataSetLoader {

    private final SerializableConfiguration hadoop;
    private final Augment.Config augment;
    private final int numClasses;
    private final long seed;
    private final boolean train;

    public ShardBatchLoader(Configuration hadoop, Augment.Config augment, int numClasses, long seed, boolean train) {
        this.hadoop = new SerializableConfiguration(hadoop);
        this.augment = augment;
        this.numClasses = numClasses;
        this.seed = seed;
        this.train = train;
    }

    @Override
    public DataSet load(Source source) throws IOException {
        return load(BatchRef.decode(source.getPath()));
    }

    public DataSet load(BatchRef ref) throws IOException {
        int n = ref.count();
        int r = augment.resolution();
        int per = 3 * r * r;
        float[] x = new float[n * per];
        float[] y = new float[n * numClasses];
        int i = 0;
        for (BatchRef.Range range : ref.ranges()) {
            List<ShardReader.Example> rows = ShardReader.read(hadoop.value(), range.shard(), range.from(), range.count());
            if (rows.size() != range.count()) {
                throw new IOException(range.shard() + ": rows " + range.from() + ".." + (range.from() + range.count())
                        + " asked, " + rows.size() + " read");
            }
            for (int j = 0; j < rows.size(); j++, i++) {
                ShardReader.Example e = rows.get(j);
                try {
                    if (train) {
                        Augment.train(e.jpeg(), augment, Augment.rng(seed, ref.epoch(), e.key()), x, i * per);
                    } else {
                        Augment.eval(e.jpeg(), augment, x, i * per);
                    }
                } catch (IOException ex) {
                    throw new IOException(range.shard() + " row " + (range.from() + j) + " (" + e.key() + "): " + ex.getMessage(), ex);
                }
                for (int c : e.labels()) {
                    if (c < 0 || c >= numClasses) {
                        throw new IOException(range.shard() + " row " + (range.from() + j) + " (" + e.key() + "): label " + c
                                + " outside 0.." + (numClasses - 1));
                    }
                    y[i * numClasses + c] = 1f;
                }
            }
        }
        INDArray features = Nd4j.create(x, new long[] {n, 3, r, r}, 'c');
        INDArray labels = Nd4j.create(y, new long[] {n, numClasses}, 'c');
        return new DataSet(features.castTo(DataType.FLOAT), labels.castTo(DataType.FLOAT));
    }
}
