package io.bitspark.model.layers;

import static io.bitspark.model.layers.KernelPool.parallelFor;
import static io.bitspark.model.layers.NativeMemory.check;
import static io.bitspark.model.layers.NativeMemory.vector;

import io.bitspark.model.layers.NativeMemory.Mem;

/**
 * GroupNorm (+ ReLU) over channels-last float arrays, the layout and type BiT models train in: the algorithm of
 * {@link GroupNormKernels}'s channels-last kernels with the per-element work in float and every sum in double.
 *
 * <p>Written for the JIT's auto-vectorizer, which handles a short loop over a few arrays at one index and gives up
 * on a long fused body: each chunk of whole pixels goes through a sequence of such loops over L1-resident float
 * scratch, with the per-channel constants repeated to the chunk's length. The ReLU gate is arithmetic ({@link
 * #step}). Sums accumulate per position in float over at most {@value #FLUSH} chunks, then in double, and are
 * folded per channel at the end. Values are centred before they are scaled ({@code x - mean}, the mean held as a
 * float and its rounding error), so a large mean costs no precision. One task per example, fixed order: results
 * do not depend on thread scheduling. {@code KernelsTest} holds these kernels to the double ones.
 */
final class GroupNormNhwcFloat {

    private GroupNormNhwcFloat() {}

    /** Chunks whose float partial sums are added up before they go into the double totals. */
    private static final int FLUSH = 8;
    /** Floats per chunk: whole pixels, about 8 KB per scratch array. */
    private static final int CHUNK = 1 << 11;

    /** Per-thread scratch: chunk-length float vectors and double totals, grown on demand and kept. */
    private static final class Scratch {
        float[][] v = new float[12][0];
        double[][] tot = new double[2][0];

        Scratch ensure(int chunk) {
            if (v[0].length < chunk) {
                for (int i = 0; i < v.length; i++) {
                    v[i] = new float[chunk];
                }
                for (int i = 0; i < tot.length; i++) {
                    tot[i] = new double[chunk];
                }
            }
            return this;
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** True when every array is float. */
    static boolean applies(Mem... arrays) {
        for (Mem m : arrays) {
            if (!m.single()) {
                return false;
            }
        }
        return true;
    }

    /**
     * 1 where {@code v > 0}, else 0 (also at -0.0): a positive float is at least 2^-149, which two exact power-of-two
     * products lift to at least 1 (or to infinity), then clamped to 1.
     */
    static float step(float v) {
        return Math.min(Math.max(v, 0f) * 0x1p100f * 0x1p49f, 1f);
    }

    private static void read(Mem m, long start, float[] dst, int n) {
        check(m, start, n);
        NativeMemory.unsafe().copyMemory(null, m.address() + 4 * start, dst, sun.misc.Unsafe.ARRAY_FLOAT_BASE_OFFSET, 4L * n);
    }

    private static void write(float[] src, int n, Mem m, long start) {
        check(m, start, n);
        NativeMemory.unsafe().copyMemory(src, sun.misc.Unsafe.ARRAY_FLOAT_BASE_OFFSET, null, m.address() + 4 * start, 4L * n);
    }

    /** {@code perChannel[0..c)} repeated over {@code out[0..len)} ({@code len} a multiple of {@code c}). */
    private static void repeat(double[] perChannel, int c, float[] out, int len) {
        for (int ch = 0; ch < c; ch++) {
            out[ch] = (float) perChannel[ch];
        }
        for (int at = c; at < len; at += c) {
            System.arraycopy(out, 0, out, at, c);
        }
    }

    /**
     * Adds {@code d} and {@code d * x} over {@code [0, len)} to the float partial sums (scratch vectors 7 and 8), and
     * with {@code flush} moves those partials into the double totals.
     */
    private static void accumulate(float[] d, float[] x, Scratch s, int len, boolean flush, int chunk) {
        float[] p1 = s.v[7];
        float[] p2 = s.v[8];
        for (int i = 0; i < len; i++) {
            p1[i] += d[i];
            p2[i] += d[i] * x[i];
        }
        if (flush) {
            flush(p1, s.tot[0], chunk);
            flush(p2, s.tot[1], chunk);
        }
    }

    /** Adds the float partials into the double totals and clears them. */
    private static void flush(float[] p, double[] tot, int len) {
        for (int i = 0; i < len; i++) {
            tot[i] += p[i];
        }
        java.util.Arrays.fill(p, 0, len, 0f);
    }

    /** Per-channel sums of chunk-length totals ({@code len} a multiple of {@code c}). */
    private static double[] fold(double[] tot, int len, int c) {
        double[] out = new double[c];
        for (int at = 0; at < len; at += c) {
            for (int ch = 0; ch < c; ch++) {
                out[ch] += tot[at + ch];
            }
        }
        return out;
    }

    /** {@code x - mean} in place, the mean as its float and that float's rounding error. */
    private static void centre(float[] x, float[] hi, float[] lo, int len) {
        for (int i = 0; i < len; i++) {
            x[i] = (x[i] - hi[i]) - lo[i];
        }
    }

    /** {@code d *= step(scale * xc + shift)}: the gradient gated by the forward pre-activation's sign. */
    private static void gate(float[] d, float[] xc, float[] scale, float[] shift, float[] g, int len) {
        for (int i = 0; i < len; i++) {
            g[i] = step(scale[i] * xc[i] + shift[i]);
        }
        for (int i = 0; i < len; i++) {
            d[i] *= g[i];
        }
    }

    /** Per-group mean and its float parts per channel, for the channels of example {@code ni}. */
    private static void means(double[] mean, int ni, int groups, int cg, int c, double[] hi, double[] lo) {
        for (int ch = 0; ch < c; ch++) {
            double mg = mean[ni * groups + ch / cg];
            hi[ch] = (float) mg;
            lo[ch] = mg - (float) mg;
        }
    }

    /** {@link GroupNormKernels#groupNormForwardNhwc} for float arrays. */
    static void forward(Mem x, Mem y, Mem gammaMem, Mem betaMem, GroupNormKernels.Shape shape, double eps, boolean relu,
                        double[] mean, double[] rstd) {
        int c = shape.c();
        int hw = shape.hw();
        int groups = shape.groups();
        int cg = c / groups;
        double[] gamma = vector(gammaMem, c);
        double[] beta = vector(betaMem, c);
        int rows = Math.max(1, CHUNK / c);
        int chunk = rows * c;
        parallelFor(shape.n(), ni -> {
            Scratch s = SCRATCH.get().ensure(chunk);
            float[] xs = s.v[0];
            float[] kR = s.v[1];
            float[] p1 = s.v[7];
            float[] p2 = s.v[8];
            double[] t1 = s.tot[0];
            double[] t2 = s.tot[1];
            long base = (long) ni * hw * c;
            // Sums of x - k and its square per channel, k the channel's first value (no cancellation for a large mean).
            double[] k = new double[c];
            read(x, base, xs, c);
            for (int ch = 0; ch < c; ch++) {
                k[ch] = xs[ch];
            }
            repeat(k, c, kR, chunk);
            java.util.Arrays.fill(p1, 0, chunk, 0f);
            java.util.Arrays.fill(p2, 0, chunk, 0f);
            java.util.Arrays.fill(t1, 0, chunk, 0.0);
            java.util.Arrays.fill(t2, 0, chunk, 0.0);
            int chunks = 0;
            for (int p0 = 0; p0 < hw; p0 += rows) {
                int len = Math.min(rows, hw - p0) * c;
                read(x, base + (long) p0 * c, xs, len);
                for (int i = 0; i < len; i++) {
                    xs[i] -= kR[i];
                }
                accumulate(xs, xs, s, len, ++chunks % FLUSH == 0, chunk);
            }
            accumulate(xs, xs, s, 0, true, chunk);
            double[] s1 = fold(t1, chunk, c);
            double[] s2 = fold(t2, chunk, c);
            double[] scale = new double[c];
            GroupNormKernels.groupStatistics(k, s1, s2, hw, groups, cg, eps, ni, mean, rstd);
            for (int ch = 0; ch < c; ch++) {
                scale[ch] = gamma[ch] * rstd[ni * groups + ch / cg];
            }
            double[] hi = new double[c];
            double[] lo = new double[c];
            means(mean, ni, groups, cg, c, hi, lo);
            float[] hiR = s.v[1];
            float[] loR = s.v[2];
            float[] scaleR = s.v[3];
            float[] shiftR = s.v[4];
            repeat(hi, c, hiR, chunk);
            repeat(lo, c, loR, chunk);
            repeat(scale, c, scaleR, chunk);
            repeat(beta, c, shiftR, chunk);
            for (int p0 = 0; p0 < hw; p0 += rows) {
                int len = Math.min(rows, hw - p0) * c;
                long start = base + (long) p0 * c;
                read(x, start, xs, len);
                centre(xs, hiR, loR, len);
                if (relu) {
                    for (int i = 0; i < len; i++) {
                        xs[i] = Math.max(scaleR[i] * xs[i] + shiftR[i], 0f);
                    }
                } else {
                    for (int i = 0; i < len; i++) {
                        xs[i] = scaleR[i] * xs[i] + shiftR[i];
                    }
                }
                write(xs, len, y, start);
            }
        });
    }

    /** {@link GroupNormKernels#groupNormBackwardNhwc} for float arrays; each example's dGamma and dBeta partials go to pg, pb. */
    static void backward(Mem x, Mem dy, Mem gammaMem, Mem betaMem, GroupNormKernels.Shape shape, boolean relu,
                         double[] mean, double[] rstd, Mem dx, double[] pg, double[] pb) {
        int c = shape.c();
        int hw = shape.hw();
        int groups = shape.groups();
        int cg = c / groups;
        long m = (long) cg * hw;
        double[] gamma = vector(gammaMem, c);
        double[] beta = vector(betaMem, c);
        int rows = Math.max(1, CHUNK / c);
        int chunk = rows * c;
        parallelFor(shape.n(), ni -> {
            Scratch s = SCRATCH.get().ensure(chunk);
            float[] xs = s.v[0];
            float[] ds = s.v[1];
            float[] g = s.v[2];
            float[] hiR = s.v[3];
            float[] loR = s.v[4];
            float[] scaleR = s.v[5];
            float[] shiftR = s.v[6];
            float[] p1 = s.v[7];
            float[] p2 = s.v[8];
            double[] t1 = s.tot[0];
            double[] t2 = s.tot[1];
            double[] hi = new double[c];
            double[] lo = new double[c];
            means(mean, ni, groups, cg, c, hi, lo);
            double[] scale = new double[c];
            for (int ch = 0; ch < c; ch++) {
                scale[ch] = gamma[ch] * rstd[ni * groups + ch / cg];
            }
            repeat(hi, c, hiR, chunk);
            repeat(lo, c, loR, chunk);
            repeat(scale, c, scaleR, chunk);
            repeat(beta, c, shiftR, chunk);
            java.util.Arrays.fill(p1, 0, chunk, 0f);
            java.util.Arrays.fill(p2, 0, chunk, 0f);
            java.util.Arrays.fill(t1, 0, chunk, 0.0);
            java.util.Arrays.fill(t2, 0, chunk, 0.0);
            long base = (long) ni * hw * c;
            // Pass one: per channel, the sums of the gated gradient d and of d * (x - mean).
            int chunks = 0;
            for (int p0 = 0; p0 < hw; p0 += rows) {
                int len = Math.min(rows, hw - p0) * c;
                long start = base + (long) p0 * c;
                read(x, start, xs, len);
                read(dy, start, ds, len);
                centre(xs, hiR, loR, len);
                if (relu) {
                    gate(ds, xs, scaleR, shiftR, g, len);
                }
                accumulate(ds, xs, s, len, ++chunks % FLUSH == 0, chunk);
            }
            accumulate(ds, xs, s, 0, true, chunk);
            double[] sd = fold(t1, chunk, c);
            double[] sdx = fold(t2, chunk, c);
            // dx = r * (gamma * d - mean(gamma * d) - xhat * mean(gamma * d * xhat)) = A d + B (x - mean) + C per channel.
            double[] ca = new double[c];
            double[] cb = new double[c];
            double[] cc = new double[c];
            for (int gi = 0; gi < groups; gi++) {
                double r = rstd[ni * groups + gi];
                double sumD = 0;
                double sumDX = 0;
                for (int ch = gi * cg; ch < (gi + 1) * cg; ch++) {
                    double sdxhat = r * sdx[ch];
                    pg[ni * c + ch] = sdxhat;
                    pb[ni * c + ch] = sd[ch];
                    sumD += gamma[ch] * sd[ch];
                    sumDX += gamma[ch] * sdxhat;
                }
                double meanD = sumD / m;
                double meanDX = sumDX / m;
                for (int ch = gi * cg; ch < (gi + 1) * cg; ch++) {
                    ca[ch] = r * gamma[ch];
                    cb[ch] = -r * r * meanDX;
                    cc[ch] = -r * meanD;
                }
            }
            float[] aR = s.v[7];
            float[] bR = s.v[8];
            float[] cR = s.v[9];
            repeat(ca, c, aR, chunk);
            repeat(cb, c, bR, chunk);
            repeat(cc, c, cR, chunk);
            for (int p0 = 0; p0 < hw; p0 += rows) {
                int len = Math.min(rows, hw - p0) * c;
                long start = base + (long) p0 * c;
                read(x, start, xs, len);
                read(dy, start, ds, len);
                centre(xs, hiR, loR, len);
                if (relu) {
                    gate(ds, xs, scaleR, shiftR, g, len);
                }
                for (int i = 0; i < len; i++) {
                    ds[i] = aR[i] * ds[i] + bR[i] * xs[i] + cR[i];
                }
                write(ds, len, dx, start);
            }
        });
    }
}
