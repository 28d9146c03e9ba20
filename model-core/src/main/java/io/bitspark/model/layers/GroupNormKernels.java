package io.bitspark.model.layers;

import static io.bitspark.model.layers.KernelMath.dot;
import static io.bitspark.model.layers.KernelMath.reluGate;
import static io.bitspark.model.layers.KernelMath.squaredDeviations;
import static io.bitspark.model.layers.KernelMath.sum;
import static io.bitspark.model.layers.KernelPool.parallelFor;
import static io.bitspark.model.layers.NativeMemory.check;
import static io.bitspark.model.layers.NativeMemory.load;
import static io.bitspark.model.layers.NativeMemory.set;
import static io.bitspark.model.layers.NativeMemory.store;
import static io.bitspark.model.layers.NativeMemory.vector;

import io.bitspark.model.layers.NativeMemory.Mem;
import io.bitspark.model.layers.NativeMemory.Scratch;

/**
 * GroupNorm (+ ReLU) forward and backward as fused loops over NCHW and NHWC, on {@link NativeMemory} scratch and
 * the {@link KernelPool}. All arithmetic is double, whatever the array type, and each task's order is fixed, so
 * results do not depend on thread scheduling; float and double arrays run the same code (the path the gradient
 * checks verify).
 *
 * <p>Math (per group of K values): {@code y = (x - mean) * rstd}, {@code rstd = 1 / sqrt(var + eps)} with the
 * biased variance; backward {@code dx = rstd * (g - mean(g) - y * mean(g * y))}, through gamma, beta and the ReLU.
 */
final class GroupNormKernels {

    private GroupNormKernels() {}

    /** {@code n} examples of {@code c} channels over {@code hw} pixels, in {@code groups} groups. */
    record Shape(int n, int c, int hw, int groups) {
        Shape {
            if (n < 0 || c < 1 || hw < 1 || groups < 1 || c % groups != 0) {
                throw new IllegalArgumentException("GroupNorm shape: " + n + " examples, " + c + " channels, " + hw
                        + " pixels, " + groups + " groups");
            }
        }

        /** Channels per group. */
        int cg() {
            return c / groups;
        }

        /** Values per group of one example: channels per group times pixels. */
        int groupSize() {
            return cg() * hw;
        }
    }

    /** Elements per chunk of the channels-last kernels (whole pixels of C channels): a few hundred KB. */
    private static final int NHWC_CHUNK = 1 << 14;

    /**
     * Channels-last float arrays run {@link GroupNormNhwcFloat}'s kernels ({@code -Dbit.groupnorm.nhwc_float=false}
     * keeps them on the double kernels below, for comparison).
     */
    static final boolean FLOAT_NHWC = Boolean.parseBoolean(System.getProperty("bit.groupnorm.nhwc_float", "true"));

    /**
     * y = act(gamma * (x - mean) * rstd + beta) over NCHW; fills {@code mean} and {@code rstd} per (n, g).
     */
    static void groupNormForward(Mem x, Mem y, Mem gammaMem, Mem betaMem, Shape shape, double eps,
                                 boolean relu, double[] mean, double[] rstd) {
        int hw = shape.hw();
        int groups = shape.groups();
        int cg = shape.cg();
        int m = shape.groupSize();
        double[] gamma = vector(gammaMem, shape.c());
        double[] beta = vector(betaMem, shape.c());
        parallelFor(shape.n() * groups, task -> {
            int g = task % groups;
            long base = (long) task * m;
            Scratch s = NativeMemory.scratch().ensure(m);
            double[] a = s.a;
            load(x, base, a, m, s.f);
            double mu = sum(a, 0, m) / m;
            double r = 1.0 / Math.sqrt(squaredDeviations(a, m, mu) / m + eps);
            mean[task] = mu;
            rstd[task] = r;
            for (int ch = 0; ch < cg; ch++) {
                int cc = g * cg + ch;
                double scale = gamma[cc] * r;
                double shift = beta[cc] - mu * scale;
                int from = ch * hw;
                int to = from + hw;
                if (relu) {
                    for (int i = from; i < to; i++) {
                        // max(), not a branch: after normalization half the values are negative.
                        a[i] = Math.max(a[i] * scale + shift, 0.0);
                    }
                } else {
                    for (int i = from; i < to; i++) {
                        a[i] = a[i] * scale + shift;
                    }
                }
            }
            store(a, m, y, base, s.f);
        });
    }

    /**
     * Given x, dL/dy and the forward statistics: dL/dx, and per-example partial dL/dgamma, dL/dbeta summed
     * into {@code dGamma}/{@code dBeta} in example order (deterministic).
     */
    static void groupNormBackward(Mem x, Mem dy, Mem gammaMem, Mem betaMem, Shape shape, boolean relu,
                                  double[] mean, double[] rstd, Mem dx, Mem dGamma, Mem dBeta) {
        int n = shape.n();
        int c = shape.c();
        int hw = shape.hw();
        int groups = shape.groups();
        int cg = shape.cg();
        int m = shape.groupSize();
        double[] gamma = vector(gammaMem, c);
        double[] beta = vector(betaMem, c);
        double[] pg = new double[n * c];
        double[] pb = new double[n * c];
        parallelFor(n * groups, task -> {
            int ni = task / groups;
            int g = task % groups;
            long base = (long) task * m;
            Scratch s = NativeMemory.scratch().ensure(m);
            double[] xh = s.a;
            double[] d = s.b;
            load(x, base, xh, m, s.f);
            load(dy, base, d, m, s.f);
            double mu = mean[task];
            double r = rstd[task];
            double sumD = 0;
            double sumDX = 0;
            for (int ch = 0; ch < cg; ch++) {
                int cc = g * cg + ch;
                double ga = gamma[cc];
                double be = beta[cc];
                int from = ch * hw;
                int to = from + hw;
                for (int i = from; i < to; i++) {
                    xh[i] = (xh[i] - mu) * r;
                }
                if (relu) {
                    for (int i = from; i < to; i++) {
                        d[i] = reluGate(ga * xh[i] + be, d[i]);
                    }
                }
                double sg = dot(d, xh, from, to);
                double sb = sum(d, from, to);
                pg[ni * c + cc] = sg;
                pb[ni * c + cc] = sb;
                sumD += ga * sb;
                sumDX += ga * sg;
            }
            double meanD = sumD / m;
            double meanDX = sumDX / m;
            for (int ch = 0; ch < cg; ch++) {
                double ga = gamma[g * cg + ch];
                int from = ch * hw;
                int to = from + hw;
                for (int i = from; i < to; i++) {
                    d[i] = r * (d[i] * ga - meanD - xh[i] * meanDX);
                }
            }
            store(d, m, dx, base, s.f);
        });
        sumPartials(pg, pb, n, c, dGamma, dBeta);
    }


    /**
     * Per-channel vectors repeated over the rows (pixels) of a chunk, so the channels-last loops run flat
     * over whole chunks (long loops the JIT vectorizes) instead of one short loop per pixel.
     */
    private static void repeat(double[] perChannel, int c, double[] out, int len) {
        for (int o = 0; o < len; o += c) {
            System.arraycopy(perChannel, 0, out, o, c);
        }
    }

    /** Folds a chunk-length accumulator back to one value per channel (rows in order: deterministic). */
    static void fold(double[] rep, int len, int c, double[] out) {
        java.util.Arrays.fill(out, 0, c, 0.0);
        for (int o = 0; o < len; o += c) {
            for (int ch = 0; ch < c; ch++) {
                out[ch] += rep[o + ch];
            }
        }
    }

    /** One chunk of an example's channels-last block: its chunk index, first element and element count. */
    @FunctionalInterface
    interface ChunkBody {
        void run(int index, long start, int len);
    }

    /**
     * How the channels-last kernels walk one example's {@code [H*W, C]} block: in chunks of {@code rows} whole pixels,
     * {@code size} elements (the last chunk may be shorter), in order.
     */
    record Chunks(int c, int hw, int rows, int size) {
        /** Chunks of about {@code target} elements, at least one pixel. */
        static Chunks of(Shape shape, int target) {
            int rows = Math.max(1, target / shape.c());
            return new Chunks(shape.c(), shape.hw(), rows, rows * shape.c());
        }

        /** Example {@code ni}'s first element. */
        long start(int ni) {
            return (long) ni * hw * c;
        }

        /** Runs {@code body} over example {@code ni}'s chunks, first to last. */
        void forEach(int ni, ChunkBody body) {
            long base = start(ni);
            int index = 0;
            for (int p0 = 0; p0 < hw; p0 += rows) {
                body.run(index++, base + (long) p0 * c, Math.min(rows, hw - p0) * c);
            }
        }
    }

    /** Per channel of example {@code ni}: its group's entry of a per-(example, group) statistic. */
    static double[] perChannel(double[] stat, int ni, Shape shape) {
        return perChannel(stat, ni, shape, new double[shape.c()]);
    }

    /** {@link #perChannel(double[], int, Shape)} into {@code out[0..c)}. */
    static double[] perChannel(double[] stat, int ni, Shape shape, double[] out) {
        int groups = shape.groups();
        int cg = shape.c() / groups;
        for (int g = 0; g < groups; g++) {
            java.util.Arrays.fill(out, g * cg, (g + 1) * cg, stat[ni * groups + g]);
        }
        return out;
    }

    /** Per channel of example {@code ni}: {@code gamma * rstd}, the factor that multiplies {@code x - mean}. */
    static double[] scale(double[] gamma, double[] rstd, int ni, Shape shape) {
        return scale(gamma, rstd, ni, shape, new double[shape.c()]);
    }

    /** {@link #scale(double[], double[], int, Shape)} into {@code out[0..c)}. */
    static double[] scale(double[] gamma, double[] rstd, int ni, Shape shape, double[] out) {
        double[] scale = perChannel(rstd, ni, shape, out);
        for (int ch = 0; ch < shape.c(); ch++) {
            scale[ch] = gamma[ch] * scale[ch];
        }
        return scale;
    }

    /** Per channel of example {@code ni}: {@code beta - mean * scale}, so that the affine output is {@code scale * x + shift}. */
    private static double[] shift(double[] beta, double[] mean, double[] scale, int ni, Shape shape) {
        double[] shift = perChannel(mean, ni, shape);
        for (int ch = 0; ch < shift.length; ch++) {
            shift[ch] = beta[ch] - shift[ch] * scale[ch];
        }
        return shift;
    }

    /**
     * Example {@code ni}'s dGamma and dBeta partials (into {@code pg}, {@code pb}) and the per-channel constants
     * {@code {A, B, C}} of {@code dx = A d + B (x - mean) + C}, from per-channel sums of the gated gradient {@code d}
     * ({@code sd}) and of {@code d * (x - mean)} ({@code sdc}): over each group,
     * {@code dx = rstd * (gamma d - mean(gamma d) - xhat * mean(gamma d xhat))}. Both channels-last kernels use it.
     */
    static double[][] backwardConstants(double[] sd, double[] sdc, double[] gamma, double[] rstd, int ni, Shape shape,
                                        double[] pg, double[] pb) {
        int c = shape.c();
        return backwardConstants(sd, sdc, gamma, rstd, ni, shape, pg, pb, new double[][] {new double[c], new double[c],
                new double[c]});
    }

    /** {@link #backwardConstants(double[], double[], double[], double[], int, Shape, double[], double[])} into {@code abc}. */
    static double[][] backwardConstants(double[] sd, double[] sdc, double[] gamma, double[] rstd, int ni, Shape shape,
                                        double[] pg, double[] pb, double[][] abc) {
        int c = shape.c();
        int groups = shape.groups();
        int cg = c / groups;
        long m = (long) cg * shape.hw();
        double[] ca = abc[0];
        double[] cb = abc[1];
        double[] cc = abc[2];
        for (int g = 0; g < groups; g++) {
            double r = rstd[ni * groups + g];
            double sumD = 0;
            double sumDX = 0;
            for (int ch = g * cg; ch < (g + 1) * cg; ch++) {
                double sdxhat = r * sdc[ch];
                pg[ni * c + ch] = sdxhat;
                pb[ni * c + ch] = sd[ch];
                sumD += gamma[ch] * sd[ch];
                sumDX += gamma[ch] * sdxhat;
            }
            double meanD = sumD / m;
            double meanDX = sumDX / m;
            for (int ch = g * cg; ch < (g + 1) * cg; ch++) {
                ca[ch] = r * gamma[ch];
                cb[ch] = -r * r * meanDX;
                cc[ch] = -r * meanD;
            }
        }
        return abc;
    }

    /**
     * Example {@code ni}'s group means and reciprocal standard deviations from per-channel sums over {@code hw}
     * pixels of {@code x - k} ({@code s1}) and its square ({@code s2}), {@code k} a per-channel shift: channel means
     * and sums of squared deviations, combined per group exactly (Chan et al.). Both channels-last kernels use it.
     */
    static void groupStatistics(double[] k, double[] s1, double[] s2, int hw, int groups, int cg, double eps, int ni,
                                double[] mean, double[] rstd) {
        long m = (long) cg * hw;
        for (int g = 0; g < groups; g++) {
            double sumMeans = 0;
            for (int ch = g * cg; ch < (g + 1) * cg; ch++) {
                sumMeans += k[ch] + s1[ch] / hw;
            }
            double mu = sumMeans / cg;
            double m2 = 0;
            for (int ch = g * cg; ch < (g + 1) * cg; ch++) {
                double dm = k[ch] + s1[ch] / hw - mu;
                m2 += (s2[ch] - s1[ch] * s1[ch] / hw) + hw * dm * dm;
            }
            mean[ni * groups + g] = mu;
            rstd[ni * groups + g] = 1.0 / Math.sqrt(Math.max(m2, 0.0) / m + eps);
        }
    }

    /**
     * As {@link #groupNormForward} over NHWC: one task per example, which streams its [H*W, C] block in
     * chunks of whole pixels. Statistics in one pass: per channel, sums of {@code x - k} and its square
     * about the channel's first value {@code k} (a shift that keeps the variance free of cancellation for
     * data with a large mean), combined per group exactly (Chan et al.); then one pass normalizes.
     */
    static void groupNormForwardNhwc(Mem x, Mem y, Mem gammaMem, Mem betaMem, Shape shape,
                                     double eps, boolean relu, double[] mean, double[] rstd) {
        if (FLOAT_NHWC && GroupNormNhwcFloat.applies(x, y)) {
            GroupNormNhwcFloat.forward(x, y, gammaMem, betaMem, shape, eps, relu, mean, rstd);
            return;
        }
        int c = shape.c();
        int groups = shape.groups();
        double[] gamma = vector(gammaMem, c);
        double[] beta = vector(betaMem, c);
        Chunks chunks = Chunks.of(shape, NHWC_CHUNK);
        int size = chunks.size();
        parallelFor(shape.n(), ni -> {
            Scratch s = NativeMemory.scratch().ensure(size).channels(c).repeated(size);
            double[] a = s.a;
            double[] k = s.ch[0];
            double[] s1 = s.ch[1];
            double[] s2 = s.ch[2];
            double[] kR = s.rep[0];
            double[] s1R = s.rep[1];
            double[] s2R = s.rep[2];
            load(x, chunks.start(ni), k, c, s.f);
            repeat(k, c, kR, size);
            java.util.Arrays.fill(s1R, 0, size, 0.0);
            java.util.Arrays.fill(s2R, 0, size, 0.0);
            chunks.forEach(ni, (index, start, len) -> {
                load(x, start, a, len, s.f);
                for (int i = 0; i < len; i++) {
                    double d = a[i] - kR[i];
                    s1R[i] += d;
                    s2R[i] += d * d;
                }
            });
            fold(s1R, size, c, s1);
            fold(s2R, size, c, s2);
            groupStatistics(k, s1, s2, shape.hw(), groups, c / groups, eps, ni, mean, rstd);
            double[] scale = scale(gamma, rstd, ni, shape);
            double[] scaleR = s.rep[0];
            double[] shiftR = s.rep[1];
            repeat(scale, c, scaleR, size);
            repeat(shift(beta, mean, scale, ni, shape), c, shiftR, size);
            double lower = relu ? 0.0 : Double.NEGATIVE_INFINITY;
            chunks.forEach(ni, (index, start, len) -> {
                load(x, start, a, len, s.f);
                for (int i = 0; i < len; i++) {
                    a[i] = Math.max(a[i] * scaleR[i] + shiftR[i], lower);
                }
                store(a, len, y, start, s.f);
            });
        });
    }

    /**
     * As {@link #groupNormBackward} over NHWC: one task per example, two streaming passes. With
     * {@code v = scale * x + shift} the forward pre-activation and {@code d} the gated gradient, pass one
     * sums {@code d} and {@code d * x} per channel ({@code sum(d * (x - mean)) = sum(d * x) - mean * sum(d)});
     * pass two writes {@code dx = A * d + B * x + C} with per-channel constants folded from the group sums.
     */
    static void groupNormBackwardNhwc(Mem x, Mem dy, Mem gammaMem, Mem betaMem, Shape shape,
                                      boolean relu, double[] mean, double[] rstd, Mem dx, Mem dGamma, Mem dBeta) {
        int n = shape.n();
        int c = shape.c();
        double[] pg = new double[n * c];
        double[] pb = new double[n * c];
        if (FLOAT_NHWC && GroupNormNhwcFloat.applies(x, dy, dx)) {
            GroupNormNhwcFloat.backward(x, dy, gammaMem, betaMem, shape, relu, mean, rstd, dx, pg, pb);
            sumPartials(pg, pb, n, c, dGamma, dBeta);
            return;
        }
        double[] gamma = vector(gammaMem, c);
        double[] beta = vector(betaMem, c);
        Chunks chunks = Chunks.of(shape, NHWC_CHUNK);
        int size = chunks.size();
        parallelFor(n, ni -> {
            Scratch s = NativeMemory.scratch().ensure(size).channels(c).repeated(size);
            double[] a = s.a;
            double[] b = s.b;
            double[] scale = scale(gamma, rstd, ni, shape);
            double[] scaleR = s.rep[0];
            double[] shiftR = s.rep[1];
            double[] sdR = s.rep[2];
            double[] sdxR = s.rep[3];
            repeat(scale, c, scaleR, size);
            repeat(shift(beta, mean, scale, ni, shape), c, shiftR, size);
            java.util.Arrays.fill(sdR, 0, size, 0.0);
            java.util.Arrays.fill(sdxR, 0, size, 0.0);
            chunks.forEach(ni, (index, start, len) -> {
                loadGated(x, dy, start, len, s, relu, scaleR, shiftR);
                for (int i = 0; i < len; i++) {
                    sdR[i] += b[i];
                    sdxR[i] += b[i] * a[i];
                }
            });
            double[] sd = s.ch[2];
            double[] sdc = s.ch[3];
            fold(sdR, size, c, sd);
            fold(sdxR, size, c, sdc);
            double[] mu = perChannel(mean, ni, shape);
            for (int ch = 0; ch < c; ch++) {
                sdc[ch] = sdc[ch] - mu[ch] * sd[ch];
            }
            double[][] abc = backwardConstants(sd, sdc, gamma, rstd, ni, shape, pg, pb);
            for (int ch = 0; ch < c; ch++) {
                // A d + B (x - mean) + C = A d + B x + (C - B mean)
                abc[2][ch] -= abc[1][ch] * mu[ch];
            }
            double[] aR = s.rep[2];
            double[] bR = s.rep[3];
            double[] cR = s.rep[4];
            repeat(abc[0], c, aR, size);
            repeat(abc[1], c, bR, size);
            repeat(abc[2], c, cR, size);
            chunks.forEach(ni, (index, start, len) -> {
                loadGated(x, dy, start, len, s, relu, scaleR, shiftR);
                for (int i = 0; i < len; i++) {
                    b[i] = aR[i] * b[i] + bR[i] * a[i] + cR[i];
                }
                store(b, len, dx, start, s.f);
            });
        });
        sumPartials(pg, pb, n, c, dGamma, dBeta);
    }

    /**
     * Loads {@code len} values of x into {@code s.a} and of dL/dy into {@code s.b}; with ReLU, zeroes the
     * gradient where the forward pre-activation {@code scale * x + shift} was not positive.
     */
    private static void loadGated(Mem x, Mem dy, long start, int len, Scratch s, boolean relu, double[] scale,
                                  double[] shift) {
        double[] a = s.a;
        double[] b = s.b;
        load(x, start, a, len, s.f);
        load(dy, start, b, len, s.f);
        if (relu) {
            for (int i = 0; i < len; i++) {
                b[i] = reluGate(a[i] * scale[i] + shift[i], b[i]);
            }
        }
    }

    /** dGamma, dBeta = per-example partials summed in example order (deterministic). */
    private static void sumPartials(double[] pg, double[] pb, int n, int c, Mem dGamma, Mem dBeta) {
        check(dGamma, 0, c);
        check(dBeta, 0, c);
        for (int cc = 0; cc < c; cc++) {
            double sg = 0;
            double sb = 0;
            for (int ni = 0; ni < n; ni++) {
                sg += pg[ni * c + cc];
                sb += pb[ni * c + cc];
            }
            set(dGamma, cc, sg);
            set(dBeta, cc, sb);
        }
    }

}
