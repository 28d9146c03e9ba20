package io.bitspark.model.train;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import io.bitspark.model.layers.FusedKernels;

/**
 * One SGD-momentum step ({@link SgdMomentum}: {@code v = mu * v + g; w -= lr * v}) with L2 weight decay on a
 * slice {@code [from, to)} of the flat parameter vector, in one multithreaded pass without temporaries. The
 * gradient is the sum over the batch (as DL4J's backprop leaves it); elements whose parameter averages over the
 * batch are divided by {@code batch} first, then {@code g += l2 * w}, in that order and in float, as DL4J's
 * updater does, so a sharded update equals the single-process one to rounding.
 */
public final class ShardedSgd {

    private static final sun.misc.Unsafe UNSAFE = FusedKernels.unsafe();
    private static final int CHUNK = 1 << 16;


    private ShardedSgd() {}

    /**
     * @param params         the full flat parameter vector (float)
     * @param gradSum        the full flat vector of gradients summed over the batch (only {@code [from, to)} is read)
     * @param velocity       momentum; element {@code i} at {@code velocity[i - velocityOffset]}
     * @param velocityOffset the first element {@code velocity} holds: {@code from} for a shard, 0 for a full copy
     */
    public static void step(INDArray params, INDArray gradSum, INDArray velocity, long velocityOffset, long from, long to,
                            ParameterLayout layout, int batch, double lr, double mu) {
        step(params, gradSum, velocity, velocityOffset, from, to, layout, batch, 1.0, lr, mu);
    }

    /**
     * The same step with the averaged gradient multiplied by {@code gradScale} before weight decay is added (global
     * gradient-norm clipping: {@code min(1, clip / norm)}).
     */
    public static void step(INDArray params, INDArray gradSum, INDArray velocity, long velocityOffset, long from, long to,
                            ParameterLayout layout, int batch, double gradScale, double lr, double mu) {
        if (params.dataType() != DataType.FLOAT || gradSum.dataType() != DataType.FLOAT || velocity.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("the sharded optimizer runs on float32 vectors");
        }
        if (gradSum.length() < to || velocityOffset > from || velocity.length() < to - velocityOffset || params.length() < to) {
            throw new IllegalArgumentException("vectors too short for elements " + from + ".." + to);
        }
        long w = FusedKernels.address(params);
        long g = FusedKernels.address(gradSum);
        long v = FusedKernels.address(velocity);
        float fmu = (float) mu;
        float flr = (float) lr;
        float fbatch = batch;
        float fscale = (float) gradScale;
        boolean scaled = gradScale != 1.0;
        for (ParameterLayout.Segment s : layout.segments()) {
            long lo = Math.max(from, s.offset());
            long hi = Math.min(to, s.offset() + s.length());
            if (lo >= hi) {
                continue;
            }
            boolean divide = s.divideByBatch();
            float l2 = (float) s.l2();
            long n = hi - lo;
            int chunks = (int) ((n + CHUNK - 1) / CHUNK);
            long first = lo;
            FusedKernels.parallel(chunks, c -> {
                long a = first + (long) c * CHUNK;
                long b = Math.min(hi, a + CHUNK);
                for (long i = a; i < b; i++) {
                    long wi = w + 4 * i;
                    long k = 4 * (i - velocityOffset);
                    float wv = UNSAFE.getFloat(wi);
                    float gi = UNSAFE.getFloat(g + 4 * i);
                    if (divide) {
                        gi = gi / fbatch;
                    }
                    if (scaled) {
                        gi = gi * fscale;
                    }
                    if (l2 != 0f) {
                        gi = gi + l2 * wv;
                    }
                    float vi = fmu * UNSAFE.getFloat(v + k) + gi;
                    UNSAFE.putFloat(v + k, vi);
                    UNSAFE.putFloat(wi, wv - flr * vi);
                }
            });
        }
    }
}
