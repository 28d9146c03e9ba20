package io.bitspark.model.layers;

import static io.bitspark.model.layers.KernelMath.dot;
import static io.bitspark.model.layers.KernelMath.squaredDeviations;
import static io.bitspark.model.layers.KernelMath.sum;
import static io.bitspark.model.layers.KernelPool.parallelFor;
import static io.bitspark.model.layers.NativeMemory.load;
import static io.bitspark.model.layers.NativeMemory.store;

import io.bitspark.model.layers.NativeMemory.Mem;
import io.bitspark.model.layers.NativeMemory.Scratch;

/**
 * Weight standardization of a kernel's rows (one row per output channel) and its backward pass, one task per
 * row on {@link NativeMemory} scratch: {@code w_hat = (w - mean) * rstd}; {@code dw = rstd * (g - mean(g) - w_hat *
 * mean(g * w_hat))}, which may write over {@code g} (each row is read whole before it is written).
 */
final class WeightStandardizationKernels {

    private WeightStandardizationKernels() {}

    /** Standardizes each of {@code rows} rows of {@code k} weights into {@code out}; fills {@code rstd}. */
    static void standardizeRows(Mem w, Mem out, int rows, int k, double eps, double[] rstd) {
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

    /** dL/dw from dL/dw' ({@code g}) and the standardized weights; {@code dw} may be {@code g}. */
    static void standardizeRowsBackward(Mem standardized, double[] rstd, Mem g, Mem dw, int rows, int k) {
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
}
