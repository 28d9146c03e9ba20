package io.bitspark.jobs.pretrain;

import java.io.IOException;

import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.core.loader.DataSetLoader;
import org.nd4j.common.loader.Source;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import io.bitspark.data.image.Augment;
import io.bitspark.data.shards.BatchDecoder;
import io.bitspark.data.shards.BatchRef;

/**
 * A {@link BatchDecoder} as a DL4J loader: the batch a {@link BatchRef} names, as NCHW features and one-hot
 * (single-label) or k-hot (multi-label) labels, on the executor that trains on it.
 */
public final class ShardBatchLoader implements DataSetLoader {

    private final BatchDecoder decoder;

    public ShardBatchLoader(Configuration hadoop, Augment.Config augment, int numClasses, long seed, boolean train) {
        this.decoder = new BatchDecoder(hadoop, augment, numClasses, seed, train);
    }

    @Override
    public DataSet load(Source source) throws IOException {
        return load(BatchRef.decode(source.getPath()));
    }

    /** The batch's pixels and class indices, without building arrays. */
    public BatchDecoder.Batch decode(BatchRef ref) throws IOException {
        return decoder.decode(ref);
    }

    /** A decoded batch's images as an NCHW float array. */
    public static INDArray features(BatchDecoder.Batch b) {
        int r = b.resolution();
        return Nd4j.create(b.pixels(), new long[] {b.size(), 3, r, r}, 'c').castTo(DataType.FLOAT);
    }

    /** A decoded batch as features and one-hot (k-hot) labels of {@code classes} columns. */
    public static DataSet dataSet(BatchDecoder.Batch b, int classes) {
        INDArray labels = Nd4j.create(b.kHot(classes), new long[] {b.size(), classes}, 'c');
        return new DataSet(features(b), labels.castTo(DataType.FLOAT));
    }

    public DataSet load(BatchRef ref) throws IOException {
        return dataSet(decoder.decode(ref), decoder.numClasses());
    }
}
