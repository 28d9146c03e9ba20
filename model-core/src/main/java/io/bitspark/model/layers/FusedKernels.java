package io.bitspark.model.layers;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.util.stream.IntStream;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * GroupNorm and weight standardization as fused loops over the arrays' native memory: one task per
 * (example, group) or output channel, each reading its data two or three times instead of the dozen
 * passes (and broadcast kernels) of the equivalent ND4J op sequence. Statistics accumulate in double; each
 * task's arithmetic has a fixed order, so results do not depend on thread scheduling.
 *
 * <p>Math (per row of K values): {@code y = (x - mean) * rstd}, {@code rstd = 1 / sqrt(var + eps)} with
 * the biased variance; backward {@code dx = rstd * (g - mean(g) - y * mean(g * y))}.
 */
final class FusedKernels {

    private FusedKernels() {}

    /** Indexed access to float or double native memory; one implementation per JVM keeps calls inlined. */
    interface Buf {
        double get(int i);

        void set(int i, double v);
    }

    /** Float memory by address: no bounds checks in the hot loops (bounds are checked once in {@link #buf}). */
    private record F(long address, Object keepAlive) implements Buf {
        public double get(int i) {
            return UNSAFE.getFloat(address + 4L * i);
        }

        public void set(int i, double v) {
            UNSAFE.putFloat(address + 4L * i, (float) v);
        }
    }

    private static final sun.misc.Unsafe UNSAFE;
    private static final long BUFFER_ADDRESS;

    static {
        try {
            java.lang.reflect.Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            UNSAFE = (sun.misc.Unsafe) f.get(null);
            BUFFER_ADDRESS = UNSAFE.objectFieldOffset(java.nio.Buffer.class.getDeclaredField("address"));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private record D(DoubleBuffer b, int off) implements Buf {
        public double get(int i) {
            return b.get(off + i);
        }

        public void set(int i, double v) {
            b.put(off + i, v);
        }
    }

    /** True when {@code a} can be addressed directly: float or double, C-contiguous, under 2^31 elements. */
    static boolean direct(INDArray a) {
        return (a.dataType() == DataType.FLOAT || a.dataType() == DataType.DOUBLE) && rowMajorContiguous(a)
                && a.offset() + a.length() < Integer.MAX_VALUE;
    }

    /**
     * Row-major with no gaps, judged from shape and strides (ND4J's own ordering flag is unreliable for
     * vectors and unit dimensions).
     */
    static boolean rowMajorContiguous(INDArray a) {
        long expected = 1;
        for (int d = a.rank() - 1; d >= 0; d--) {
            long size = a.size(d);
            if (size != 1 && a.stride(d) != expected) {
                return false;
            }
            expected *= size;
        }
        return true;
    }

    static Buf buf(INDArray a) {
        if (!direct(a)) {
            throw new IllegalArgumentException("array is not C-contiguous float/double: " + a.shapeInfoToString());
        }
        // asNio() exposes the whole underlying storage; offset() is the array's first element within it.
        ByteBuffer bb = a.data().asNio().order(ByteOrder.nativeOrder());
        int off = (int) a.offset();
        long capacity = bb.capacity() / a.dataType().width();
        if (off + a.length() > capacity) {
            throw new IllegalStateException("array of " + a.length() + " at offset " + off + " exceeds its storage of " + capacity);
        }
        if (a.dataType() == DataType.FLOAT) {
            // The direct buffer's address is the storage's start; the array begins offset() elements in.
            return new F(UNSAFE.getLong(bb, BUFFER_ADDRESS) + 4L * off, a);
        }
        return new D(bb.asDoubleBuffer(), off);
    }

    /** Sum of {@code n} values from {@code start}; four accumulators break the add latency chain. */
    static double sum(Buf b, int start, int n) {
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        int i = 0;
        for (; i + 3 < n; i += 4) {
            s0 += b.get(start + i);
            s1 += b.get(start + i + 1);
            s2 += b.get(start + i + 2);
            s3 += b.get(start + i + 3);
        }
        for (; i < n; i++) {
            s0 += b.get(start + i);
        }
        return (s0 + s1) + (s2 + s3);
    }

    /** Sum of squared deviations from {@code mu} (two-pass variance: no cancellation). */
    static double squaredDeviations(Buf b, int start, int n, double mu) {
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        int i = 0;
        for (; i + 3 < n; i += 4) {
            double d0 = b.get(start + i) - mu;
            double d1 = b.get(start + i + 1) - mu;
            double d2 = b.get(start + i + 2) - mu;
            double d3 = b.get(start + i + 3) - mu;
            s0 += d0 * d0;
            s1 += d1 * d1;
            s2 += d2 * d2;
            s3 += d3 * d3;
        }
        for (; i < n; i++) {
            double d = b.get(start + i) - mu;
            s0 += d * d;
        }
        return (s0 + s1) + (s2 + s3);
    }

    // ------------------------------------------------------------------ GroupNorm

    /**
     * y = act(gamma * (x - mean) * rstd + beta) over NCHW; fills {@code mean} and {@code rstd} per (n, g).
     */
    static void groupNormForward(Buf x, Buf y, Buf gamma, Buf beta, int n, int c, int hw, int groups, double eps,
                                 boolean relu, double[] mean, double[] rstd) {
        int cg = c / groups;
        long m = (long) cg * hw;
        IntStream.range(0, n * groups).parallel().forEach(task -> {
            int ni = task / groups;
            int g = task % groups;
            int base = (ni * c + g * cg) * hw;
            double mu = sum(x, base, (int) m) / m;
            double r = 1.0 / Math.sqrt(squaredDeviations(x, base, (int) m, mu) / m + eps);
            mean[task] = mu;
            rstd[task] = r;
            for (int ch = 0; ch < cg; ch++) {
                int cc = g * cg + ch;
                double scale = gamma.get(cc) * r;
                double shift = beta.get(cc) - mu * scale;
                int o = base + ch * hw;
                if (relu) {
                    for (int i = 0; i < hw; i++) {
                        // max(), not a branch: after normalization half the values are negative.
                        y.set(o + i, Math.max(x.get(o + i) * scale + shift, 0.0));
                    }
                } else {
                    for (int i = 0; i < hw; i++) {
                        y.set(o + i, x.get(o + i) * scale + shift);
                    }
                }
            }
        });
    }

    /**
     * Given x, dL/dy and the forward statistics: dL/dx, and per-example partial dL/dgamma, dL/dbeta summed
     * into {@code dGamma}/{@code dBeta} in example order (deterministic).
     */
    static void groupNormBackward(Buf x, Buf dy, Buf gamma, Buf beta, int n, int c, int hw, int groups, boolean relu,
                                  double[] mean, double[] rstd, Buf dx, Buf dGamma, Buf dBeta) {
        int cg = c / groups;
        long m = (long) cg * hw;
        double[] pg = new double[n * c];
        double[] pb = new double[n * c];
        IntStream.range(0, n * groups).parallel().forEach(task -> {
            int ni = task / groups;
            int g = task % groups;
            int base = (ni * c + g * cg) * hw;
            double mu = mean[task];
            double r = rstd[task];
            double sumD = 0;
            double sumDX = 0;
            for (int ch = 0; ch < cg; ch++) {
                int cc = g * cg + ch;
                double ga = gamma.get(cc);
                double be = beta.get(cc);
                double sg = 0;
                double sb = 0;
                int o = base + ch * hw;
                for (int i = 0; i < hw; i++) {
                    double xh = (x.get(o + i) - mu) * r;
                    double d = relu && ga * xh + be <= 0 ? 0 : dy.get(o + i);
                    sg += d * xh;
                    sb += d;
                    double dxh = d * ga;
                    sumD += dxh;
                    sumDX += dxh * xh;
                }
                pg[ni * c + cc] = sg;
                pb[ni * c + cc] = sb;
            }
            double meanD = sumD / m;
            double meanDX = sumDX / m;
            for (int ch = 0; ch < cg; ch++) {
                int cc = g * cg + ch;
                double ga = gamma.get(cc);
                double be = beta.get(cc);
                int o = base + ch * hw;
                for (int i = 0; i < hw; i++) {
                    double xh = (x.get(o + i) - mu) * r;
                    double d = relu && ga * xh + be <= 0 ? 0 : dy.get(o + i);
                    dx.set(o + i, r * (d * ga - meanD - xh * meanDX));
                }
            }
        });
        for (int cc = 0; cc < c; cc++) {
            double sg = 0;
            double sb = 0;
            for (int ni = 0; ni < n; ni++) {
                sg += pg[ni * c + cc];
                sb += pb[ni * c + cc];
            }
            dGamma.set(cc, sg);
            dBeta.set(cc, sb);
        }
    }

    // ------------------------------------------------------------------ weight standardization

    /** Standardizes each of {@code rows} rows of {@code k} weights into {@code out}; fills {@code rstd}. */
    static void standardizeRows(Buf w, Buf out, int rows, int k, double eps, double[] rstd) {
        IntStream.range(0, rows).parallel().forEach(o -> {
            int base = o * k;
            double mu = sum(w, base, k) / k;
            double r = 1.0 / Math.sqrt(squaredDeviations(w, base, k, mu) / k + eps);
            rstd[o] = r;
            for (int i = 0; i < k; i++) {
                out.set(base + i, (w.get(base + i) - mu) * r);
            }
        });
    }

    /** dL/dw from dL/dw' ({@code g}) and the standardized weights; {@code dw} may be {@code g}. */
    static void standardizeRowsBackward(Buf standardized, double[] rstd, Buf g, Buf dw, int rows, int k) {
        IntStream.range(0, rows).parallel().forEach(o -> {
            int base = o * k;
            double sg = 0;
            double sgy = 0;
            for (int i = 0; i < k; i++) {
                double gi = g.get(base + i);
                sg += gi;
                sgy += gi * standardized.get(base + i);
            }
            double mg = sg / k;
            double mgy = sgy / k;
            double r = rstd[o];
            for (int i = 0; i < k; i++) {
                dw.set(base + i, r * (g.get(base + i) - mg - standardized.get(base + i) * mgy));
            }
        });
    }
}
