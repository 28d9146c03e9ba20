package io.bitspark.model.layers;

import java.util.List;
import java.util.Map;
import java.util.function.Function;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.regularization.L2Regularization;
import org.nd4j.linalg.learning.regularization.Regularization;

import io.bitspark.model.layers.NativeMemory.Mem;

/**
 * A layer's regularization score as DL4J's {@code BaseLayer.calcRegularizationScore} defines it (per parameter, the sum
 * of its regularizations' scores; L2: {@code 0.5 * l2 * |w|^2}), with the squared norms of float and double arrays
 * taken by one pass over native memory.
 *
 * <p>DL4J adds this score to the loss in every {@code computeGradientAndScore} and takes each norm with a native
 * reduction per parameter array that accumulates in the array's type: for BiT-R50x1's convolution kernels that took
 * 15-20 ms of a 0.5 s training step on two cores, and its float norm of one array of 23.5M values uniform in
 * [0, 1) was 1.1% off. Here float squares are summed in float per block of 64 values ({@link #squares}, which the
 * optimizer's norms use too), blocks and chunks of {@value #CHUNK} values in double, in a fixed order: the result
 * does not depend on the thread count. Other regularizations, and arrays that are not contiguous, take DL4J's own
 * score.
 */
public final class ParameterPenalty {

    private ParameterPenalty() {}

    /** Values per task. */
    static final int CHUNK = 1 << 14;
    /** Arrays of at most this many chunks are summed in the calling thread: a pool task costs more than they do. */
    private static final int INLINE_CHUNKS = 8;

    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[CHUNK]);

    /**
     * The regularization score of {@code params} (name to array), each name's regularizations given by
     * {@code byParam}, at {@code iteration} and {@code epoch} (the schedules' arguments).
     */
    public static double score(Map<String, INDArray> params, Function<String, List<Regularization>> byParam, int iteration,
                               int epoch) {
        double sum = 0;
        for (Map.Entry<String, INDArray> e : params.entrySet()) {
            List<Regularization> regs = byParam.apply(e.getKey());
            if (regs == null) {
                continue;
            }
            for (Regularization r : regs) {
                INDArray w = e.getValue();
                if (r instanceof L2Regularization l2 && NativeMemory.direct(w)) {
                    sum += 0.5 * l2.getL2().valueAt(iteration, epoch) * sumOfSquares(NativeMemory.mem(w));
                } else {
                    sum += r.score(w, iteration, epoch);
                }
            }
        }
        return sum;
    }

    /** Sum of the squares of a contiguous float or double array, in a fixed order, on the kernel pool. */
    static double sumOfSquares(Mem m) {
        long n = m.length();
        int chunks = Math.toIntExact((n + CHUNK - 1) / CHUNK);
        double[] part = new double[chunks];
        java.util.function.IntConsumer body = c -> {
            long start = (long) c * CHUNK;
            int len = (int) Math.min(CHUNK, n - start);
            if (m.single()) {
                float[] v = SCRATCH.get();
                NativeMemory.readFloats(m, start, v, len);
                part[c] = squares(v, len);
            } else {
                NativeMemory.Scratch s = NativeMemory.scratch().ensure(len);
                double[] v = s.a;
                NativeMemory.load(m, start, v, len, s.f);
                part[c] = KernelMath.dot(v, v, 0, len);
            }
        };
        if (chunks <= INLINE_CHUNKS) {
            for (int c = 0; c < chunks; c++) {
                body.accept(c);
            }
        } else {
            KernelPool.parallelFor(chunks, body);
        }
        double sum = 0;
        for (double p : part) {
            sum += p;
        }
        return sum;
    }

    /**
     * Sum of squares of {@code b[0, len)}: eight float partial sums over each block of 64 (independent additions the
     * JIT keeps in flight), each block's total added in double.
     */
    public static double squares(float[] b, int len) {
        double s = 0;
        for (int i = 0; i < len; i += 64) {
            float f0 = 0, f1 = 0, f2 = 0, f3 = 0, f4 = 0, f5 = 0, f6 = 0, f7 = 0;
            int e = Math.min(len, i + 64);
            int k = i;
            for (; k + 7 < e; k += 8) {
                f0 += b[k] * b[k];
                f1 += b[k + 1] * b[k + 1];
                f2 += b[k + 2] * b[k + 2];
                f3 += b[k + 3] * b[k + 3];
                f4 += b[k + 4] * b[k + 4];
                f5 += b[k + 5] * b[k + 5];
                f6 += b[k + 6] * b[k + 6];
                f7 += b[k + 7] * b[k + 7];
            }
            for (; k < e; k++) {
                f0 += b[k] * b[k];
            }
            s += (double) ((f0 + f1) + (f2 + f3)) + (double) ((f4 + f5) + (f6 + f7));
        }
        return s;
    }
}
