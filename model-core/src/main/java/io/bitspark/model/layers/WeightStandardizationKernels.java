package io.bitspark.model.layers;

import static io.bitspark.model.layers.KernelMath.dot;
import static io.bitspark.model.layers.KernelMath.pairwiseSum;
import static io.bitspark.model.layers.KernelMath.squaredDeviations;
import static io.bitspark.model.layers.KernelMath.sum;
import static io.bitspark.model.layers.KernelPool.parallelFor;
import static io.bitspark.model.layers.NativeMemory.load;
import static io.bitspark.model.layers.NativeMemory.readFloats;
import static io.bitspark.model.layers.NativeMemory.store;
import static io.bitspark.model.layers.NativeMemory.writeFloats;

import io.bitspark.model.layers.NativeMemory.Mem;
import io.bitspark.model.layers.NativeMemory.Scratch;

/**
 * Weight standardization of a kernel's rows (one row per output channel) and its backward pass, one task per
 * row on {@link NativeMemory} scratch: {@code w_hat = (w - mean) * rstd}; {@code dw = rstd * (g - mean(g) - w_hat *
 * mean(g * w_hat))}, which may write over {@code g} (each row is read whole before it is written).
 *
 * <p>Float kernels (what models train in) with rows longer than {@value #FLOAT_MIN_ROW} are computed in float with
 * pairwise sums ({@link KernelMath#pairwiseSum}): the JIT vectorizes float loops but not float-double conversions,
 * which made the double-scratch version cost 4-5 cycles per weight. The mean is taken of {@code w - w[0]} (exact for
 * weights within a factor 2 of the row's first) so that a row with a large mean keeps its precision. Double kernels
 * (gradient checks) keep the double arithmetic.
 */
final class WeightStandardizationKernels {

    private WeightStandardizationKernels() {}

    /**
     * Rows of at most this many weights keep the double arithmetic even for float kernels: there the pairwise sums have
     * no level to vectorize, and double keeps exact what is exact in theory (the gradient of a kernel of fan-in 2, whose
     * standardized weights are +-1 whatever they are, is 0).
     */
    static final int FLOAT_MIN_ROW = 32;

    /** Per-thread float rows for the float kernels: two operands, a product and two halves for the sums. */
    private static final class FloatRows {
        float[] x = new float[0];
        float[] y = new float[0];
        float[] e = new float[0];
        float[] a = new float[0];
        float[] b = new float[0];

        FloatRows ensure(int k) {
            if (x.length < k) {
                x = new float[k];
                y = new float[k];
                e = new float[k];
                a = new float[(k + 1) / 2];
                b = new float[(k + 1) / 2];
            }
            return this;
        }
    }

    private static final ThreadLocal<FloatRows> FLOAT_ROWS = ThreadLocal.withInitial(FloatRows::new);

    /** Standardizes each of {@code rows} rows of {@code k} weights into {@code out}; fills {@code rstd}. */
    static void standardizeRows(Mem w, Mem out, int rows, int k, double eps, double[] rstd) {
        if (w.single() && out.single() && k > FLOAT_MIN_ROW) {
            standardizeRowsFloat(w, out, rows, k, eps, rstd);
            return;
        }
        parallelFor(rows, o -> {
            Scratch s = NativeMemory.scratch().ensure(k);
            double[] a = s.a;
            long base = (long) o * k;
            load(w, base, a, k, s.f);
            double mu = sum(a, 0, k) / k;
            double r = 1.0 / Math.sqrt(squaredDeviations(a, k, mu) / k + eps);
            rstd[o] = r;
            for (int i = 0; i < k; i++) {
                a[i] = (a[i] - mu) * r;
            }
            store(a, k, out, base, s.f);
        });
    }

    private static void standardizeRowsFloat(Mem w, Mem out, int rows, int k, double eps, double[] rstd) {
        parallelFor(rows, o -> {
            FloatRows s = FLOAT_ROWS.get().ensure(k);
            float[] x = s.x;
            float[] sq = s.e;
            long base = (long) o * k;
            readFloats(w, base, x, k);
            float first = x[0];
            for (int i = 0; i < k; i++) {
                x[i] -= first;
            }
            float mean = (float) (pairwiseSum(x, k, s.a, s.b) / k);
            for (int i = 0; i < k; i++) {
                float c = x[i] - mean;
                x[i] = c;
                sq[i] = c * c;
            }
            double r = 1.0 / Math.sqrt(pairwiseSum(sq, k, s.a, s.b) / k + eps);
            rstd[o] = r;
            float rf = (float) r;
            for (int i = 0; i < k; i++) {
                x[i] *= rf;
            }
            writeFloats(x, k, out, base);
        });
    }

    /** dL/dw from dL/dw' ({@code g}) and the standardized weights; {@code dw} may be {@code g}. */
    static void standardizeRowsBackward(Mem standardized, double[] rstd, Mem g, Mem dw, int rows, int k) {
        if (standardized.single() && g.single() && dw.single() && k > FLOAT_MIN_ROW) {
            standardizeRowsBackwardFloat(standardized, rstd, g, dw, rows, k);
            return;
        }
        parallelFor(rows, o -> {
            Scratch s = NativeMemory.scratch().ensure(k);
            double[] y = s.a;
            double[] gr = s.b;
            long base = (long) o * k;
            load(standardized, base, y, k, s.f);
            load(g, base, gr, k, s.f);
            double mg = sum(gr, 0, k) / k;
            double mgy = dot(gr, y, 0, k) / k;
            double r = rstd[o];
            for (int i = 0; i < k; i++) {
                gr[i] = r * (gr[i] - mg - y[i] * mgy);
            }
            store(gr, k, dw, base, s.f);
        });
    }

    private static void standardizeRowsBackwardFloat(Mem standardized, double[] rstd, Mem g, Mem dw, int rows, int k) {
        parallelFor(rows, o -> {
            FloatRows s = FLOAT_ROWS.get().ensure(k);
            float[] y = s.x;
            float[] gr = s.y;
            float[] gy = s.e;
            long base = (long) o * k;
            readFloats(standardized, base, y, k);
            readFloats(g, base, gr, k);
            for (int i = 0; i < k; i++) {
                gy[i] = gr[i] * y[i];
            }
            float mg = (float) (pairwiseSum(gr, k, s.a, s.b) / k);
            float mgy = (float) (pairwiseSum(gy, k, s.a, s.b) / k);
            float r = (float) rstd[o];
            for (int i = 0; i < k; i++) {
                gr[i] = r * (gr[i] - mg - y[i] * mgy);
            }
            writeFloats(gr, k, dw, base);
        });
    }

}
