package io.bitspark.model.train;

import java.util.List;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import io.bitspark.model.layers.NativeMemory;
import io.bitspark.model.layers.ParameterPenalty;
import io.bitspark.model.layers.KernelPool;

/**
 * One SGD-momentum step ({@link SgdMomentum}: {@code v = mu * v + g; w -= lr * v}) with L2 weight decay on a
 * slice {@code [from, to)} of the flat parameter vector, in one multithreaded pass without temporaries. The
 * gradient is the sum over the batch (as DL4J's backprop leaves it); elements whose parameter averages over the
 * batch are divided by {@code batch} first, then {@code g += l2 * w}, in that order and in float, as DL4J's
 * updater does, so a sharded update equals the single-process one to rounding.
 */
public final class ShardedSgd {

    private static final sun.misc.Unsafe UNSAFE = NativeMemory.unsafe();
    private static final int CHUNK = 1 << 14;
    private static final long FLOATS = sun.misc.Unsafe.ARRAY_FLOAT_BASE_OFFSET;
    /** Per thread: chunks of parameters, gradient and momentum, in arrays the JIT vectorises loops over. */
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[3][CHUNK]);


    private ShardedSgd() {}

    /**
     * @param params         the full flat parameter vector (float)
     * @param gradSum        the full flat vector of gradients summed over the batch (only {@code [from, to)} is read)
     * @param velocity       momentum; element {@code i} at {@code velocity[i - velocityOffset]}
     * @param velocityOffset the first element {@code velocity} holds: {@code from} for a shard, 0 for a full copy
     */
    public static double[] step(INDArray params, INDArray gradSum, INDArray velocity, long velocityOffset, long from, long to,
                                ParameterLayout layout, int batch, double lr, double mu) {
        return step(params, gradSum, velocity, velocityOffset, from, to, layout, batch, 1.0, lr, mu);
    }

    /**
     * The same step with the averaged gradient multiplied by {@code gradScale} before weight decay is added (global
     * gradient-norm clipping: {@code min(1, clip / norm)}).
     *
     * @return the sums of squares over {@code [from, to)} of the averaged gradient before scaling and weight decay
     *     (element 0) and of the updated parameters (element 1), from the same pass
     */
    public static double[] step(INDArray params, INDArray gradSum, INDArray velocity, long velocityOffset, long from, long to,
                                ParameterLayout layout, int batch, double gradScale, double lr, double mu) {
        if (params.dataType() != DataType.FLOAT || gradSum.dataType() != DataType.FLOAT || velocity.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("the sharded optimizer runs on float32 vectors");
        }
        if (gradSum.length() < to || velocityOffset > from || velocity.length() < to - velocityOffset || params.length() < to) {
            throw new IllegalArgumentException("vectors too short for elements " + from + ".." + to);
        }
        long w = NativeMemory.address(params);
        long g = NativeMemory.address(gradSum);
        long v = NativeMemory.address(velocity);
        float fmu = (float) mu;
        float flr = (float) lr;
        float fscale = (float) gradScale;
        // Work items: chunks of at most CHUNK elements, none spanning two segments; one parallel pass over all.
        List<ParameterLayout.Segment> segs = layout.segments();
        int count = 0;
        for (ParameterLayout.Segment s : segs) {
            long lo = Math.max(from, s.offset());
            long hi = Math.min(to, s.offset() + s.length());
            if (lo < hi) {
                count += (int) ((hi - lo + CHUNK - 1) / CHUNK);
            }
        }
        long[] starts = new long[count];
        int[] lengths = new int[count];
        int[] segment = new int[count];
        int item = 0;
        for (int j = 0; j < segs.size(); j++) {
            ParameterLayout.Segment s = segs.get(j);
            long hi = Math.min(to, s.offset() + s.length());
            for (long lo = Math.max(from, s.offset()); lo < hi; lo += CHUNK) {
                starts[item] = lo;
                lengths[item] = (int) Math.min(CHUNK, hi - lo);
                segment[item] = j;
                item++;
            }
        }
        double[] sums = new double[2 * count];
        KernelPool.parallel(count, c -> {
            ParameterLayout.Segment s = segs.get(segment[c]);
            // Division by the batch as a division, not a multiplication by its inverse: DL4J's updater divides.
            float divisor = s.divideByBatch() ? batch : 1f;
            float l2 = (float) s.l2();
            long a = starts[c];
            int len = lengths[c];
            float[][] buf = SCRATCH.get();
            float[] wb = buf[0];
            float[] gb = buf[1];
            float[] vb = buf[2];
            long vAt = v + 4 * (a - velocityOffset);
            UNSAFE.copyMemory(null, w + 4 * a, wb, FLOATS, 4L * len);
            UNSAFE.copyMemory(null, g + 4 * a, gb, FLOATS, 4L * len);
            UNSAFE.copyMemory(null, vAt, vb, FLOATS, 4L * len);
            if (divisor != 1f) {
                for (int k = 0; k < len; k++) {
                    gb[k] = gb[k] / divisor;
                }
            }
            sums[2 * c] = squares(gb, len);
            if (fscale != 1f) {
                for (int k = 0; k < len; k++) {
                    gb[k] = gb[k] * fscale;
                }
            }
            if (l2 != 0f) {
                for (int k = 0; k < len; k++) {
                    gb[k] = gb[k] + l2 * wb[k];
                }
            }
            for (int k = 0; k < len; k++) {
                float vi = fmu * vb[k] + gb[k];
                vb[k] = vi;
                wb[k] = wb[k] - flr * vi;
            }
            sums[2 * c + 1] = squares(wb, len);
            UNSAFE.copyMemory(vb, FLOATS, null, vAt, 4L * len);
            UNSAFE.copyMemory(wb, FLOATS, null, w + 4 * a, 4L * len);
        });
        double gradSquares = 0;
        double paramSquares = 0;
        for (int c = 0; c < count; c++) {
            gradSquares += sums[2 * c];
            paramSquares += sums[2 * c + 1];
        }
        return new double[] {gradSquares, paramSquares};
    }

    /** Sum of squares of {@code b[0, len)} ({@link ParameterPenalty#squares}). */
    static double squares(float[] b, int len) {
        return ParameterPenalty.squares(b, len);
    }
}
