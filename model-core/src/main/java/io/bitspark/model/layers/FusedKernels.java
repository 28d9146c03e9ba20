package io.bitspark.model.layers;

import java.util.stream.IntStream;

import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * GroupNorm and weight standardization as fused loops: one task per (example, group) or output channel
 * copies its slice of native memory into per-thread {@code double[]} scratch (a memcpy, plus a widening
 * loop for float data), computes there with simple loops the JIT vectorizes, and copies the result back.
 * The scratch stays in cache between passes, so each element of the array is read and written once. All
 * arithmetic is double, whatever the array type, and each task's order is fixed, so results do not depend on
 * thread scheduling; float and double arrays run the same code (the path the gradient checks verify).
 *
 * <p>Math (per row of K values): {@code y = (x - mean) * rstd}, {@code rstd = 1 / sqrt(var + eps)} with
 * the biased variance; backward {@code dx = rstd * (g - mean(g) - y * mean(g * y))}.
 */
public final class FusedKernels {

    private FusedKernels() {}

    /** A C-contiguous float or double array's memory: its first element's address and element type. */
    record Mem(long address, boolean single, long length, Object keepAlive) {}

    private static final sun.misc.Unsafe UNSAFE;
    /** Floats widened per chunk when loading (and narrowed when storing): small enough to stay in L1. */
    private static final int CHUNK = 2048;

    static {
        try {
            java.lang.reflect.Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            UNSAFE = (sun.misc.Unsafe) f.get(null);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * Per-thread scratch: two double rows, per-channel vectors (channels-last kernels) and a float chunk for
     * conversions; grown on demand, kept.
     */
    private static final class Scratch {
        double[] a = new double[0];
        double[] b = new double[0];
        double[][] ch = new double[6][0];
        final float[] f = new float[CHUNK];

        Scratch ensure(int n) {
            if (a.length < n) {
                a = new double[n];
                b = new double[n];
            }
            return this;
        }

        double[][] rep = new double[6][0];

        /** Six chunk-length vectors (contents undefined). */
        Scratch repeated(int len) {
            for (int i = 0; i < rep.length; i++) {
                if (rep[i].length < len) {
                    rep[i] = new double[len];
                }
            }
            return this;
        }

        /** Six zeroed vectors of {@code c} doubles. */
        Scratch channels(int c) {
            for (int i = 0; i < ch.length; i++) {
                if (ch[i].length < c) {
                    ch[i] = new double[c];
                } else {
                    java.util.Arrays.fill(ch[i], 0, c, 0.0);
                }
            }
            return this;
        }
    }

    /** Elements per chunk of the channels-last kernels (whole pixels of C channels): a few hundred KB. */
    private static final int NHWC_CHUNK = 1 << 14;

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * Threads for the kernels: OMP_NUM_THREADS when set (what libnd4j uses too, and what Spark executors get
     * per task slot from {@code spark.task.cpus}), else every core. A dedicated pool, so the kernels neither
     * oversubscribe a machine shared by several executors nor depend on the JVM's common pool size.
     */
    static final int THREADS = threads(System.getenv("OMP_NUM_THREADS"), Runtime.getRuntime().availableProcessors());

    private static final java.util.concurrent.ForkJoinPool POOL = new java.util.concurrent.ForkJoinPool(THREADS, pool -> {
        java.util.concurrent.ForkJoinWorkerThread t = java.util.concurrent.ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
        t.setName("bit-kernels-" + t.getPoolIndex());
        t.setDaemon(true);
        return t;
    }, null, false);

    static int threads(String ompNumThreads, int cores) {
        if (ompNumThreads != null) {
            try {
                int n = Integer.parseInt(ompNumThreads.trim().split(",")[0]);
                if (n > 0) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // fall through: libnd4j ignores an unparsable value too
            }
        }
        return Math.max(1, cores);
    }

    /** Runs {@code body} for 0..n-1 on the kernel pool (in the caller when there is one thread or task). */
    static void parallelFor(int n, java.util.function.IntConsumer body) {
        if (THREADS == 1 || n == 1) {
            for (int i = 0; i < n; i++) {
                body.accept(i);
            }
            return;
        }
        POOL.submit(() -> IntStream.range(0, n).parallel().forEach(body)).join();
    }

    /**
     * True when {@code a} can be addressed directly: float or double, C-contiguous. Arrays may sit anywhere
     * in buffers of any size (the parameters of BiT-R152x4 are one 3.7 GB buffer).
     */
    static boolean direct(INDArray a) {
        return (a.dataType() == DataType.FLOAT || a.dataType() == DataType.DOUBLE) && rowMajorContiguous(a);
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

    /** Raw memory access for the other native-memory kernels (optimizer step, exchange buffers). */
    public static sun.misc.Unsafe unsafe() {
        return UNSAFE;
    }

    /** Address of the first element of a C-contiguous float or double array (views of buffers of any size). */
    public static long address(INDArray a) {
        return mem(a).address();
    }

    /** Runs {@code body} for 0..n-1 on the kernel thread pool (sized by OMP_NUM_THREADS). */
    public static void parallel(int n, java.util.function.IntConsumer body) {
        parallelFor(n, body);
    }

    static Mem mem(INDArray a) {
        if (!direct(a)) {
            throw new IllegalArgumentException("array is not C-contiguous float/double: " + a.shapeInfoToString());
        }
        // A view's data() is a view buffer whose address is the view's first element; cross-check it against
        // the original buffer and the array's offset, so a different ND4J convention fails loudly instead of
        // computing on the wrong memory. A plain buffer starts at element 0 and offset() counts from there.
        // (NIO views of the buffer would cap at 2 GB: BiT-R152x4's parameters are one 3.7 GB buffer.)
        DataBuffer d = a.data();
        int width = a.dataType().width();
        DataBuffer original = d.originalDataBuffer();
        long address;
        if (original == null || original == d) {
            address = d.addressPointer().address() + width * a.offset();
            if (a.offset() + a.length() > d.length()) {
                throw new IllegalStateException("array of " + a.length() + " at offset " + a.offset()
                        + " exceeds its buffer of " + d.length());
            }
        } else {
            address = d.addressPointer().address();
            if (original.addressPointer().address() + width * a.offset() != address || a.length() > d.length()) {
                throw new IllegalStateException("cannot address a view of " + a.length() + " at offset " + a.offset()
                        + " in a buffer of " + d.length());
            }
        }
        return new Mem(address, a.dataType() == DataType.FLOAT, a.length(), a);
    }

    /** Copies {@code n} elements of {@code src} from element {@code start} into {@code dst[0..n)} as doubles. */
    static void load(Mem src, long start, double[] dst, int n, float[] chunk) {
        check(src, start, n);
        if (!src.single()) {
            UNSAFE.copyMemory(null, src.address() + 8 * start, dst, sun.misc.Unsafe.ARRAY_DOUBLE_BASE_OFFSET, 8L * n);
            return;
        }
        for (int done = 0; done < n; done += CHUNK) {
            int len = Math.min(CHUNK, n - done);
            UNSAFE.copyMemory(null, src.address() + 4 * (start + done), chunk, sun.misc.Unsafe.ARRAY_FLOAT_BASE_OFFSET, 4L * len);
            for (int i = 0; i < len; i++) {
                dst[done + i] = chunk[i];
            }
        }
    }

    /** Copies {@code src[0..n)} into {@code dst} from element {@code start}, rounding to float for float arrays. */
    static void store(double[] src, int n, Mem dst, long start, float[] chunk) {
        check(dst, start, n);
        if (!dst.single()) {
            UNSAFE.copyMemory(src, sun.misc.Unsafe.ARRAY_DOUBLE_BASE_OFFSET, null, dst.address() + 8 * start, 8L * n);
            return;
        }
        for (int done = 0; done < n; done += CHUNK) {
            int len = Math.min(CHUNK, n - done);
            for (int i = 0; i < len; i++) {
                chunk[i] = (float) src[done + i];
            }
            UNSAFE.copyMemory(chunk, sun.misc.Unsafe.ARRAY_FLOAT_BASE_OFFSET, null, dst.address() + 4 * (start + done), 4L * len);
        }
    }

    private static void check(Mem m, long start, int n) {
        if (start < 0 || n < 0 || start + n > m.length()) {
            throw new IndexOutOfBoundsException("elements [" + start + ", " + (start + n) + ") of an array of " + m.length());
        }
    }

    private static double get(Mem m, int i) {
        return m.single() ? UNSAFE.getFloat(m.address() + 4L * i) : UNSAFE.getDouble(m.address() + 8L * i);
    }

    private static void set(Mem m, int i, double v) {
        if (m.single()) {
            UNSAFE.putFloat(m.address() + 4L * i, (float) v);
        } else {
            UNSAFE.putDouble(m.address() + 8L * i, v);
        }
    }

    /** Loads a small vector (per-channel parameters) once per call. */
    private static double[] vector(Mem m, int n) {
        check(m, 0, n);
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = get(m, i);
        }
        return v;
    }

    /** Sum of {@code v[0..n)}; four accumulators break the add latency chain. */
    static double sum(double[] v, int from, int to) {
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        int i = from;
        for (; i + 3 < to; i += 4) {
            s0 += v[i];
            s1 += v[i + 1];
            s2 += v[i + 2];
            s3 += v[i + 3];
        }
        for (; i < to; i++) {
            s0 += v[i];
        }
        return (s0 + s1) + (s2 + s3);
    }

    /** Sum of squared deviations from {@code mu} (two-pass variance: no cancellation). */
    static double squaredDeviations(double[] v, int n, double mu) {
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        int i = 0;
        for (; i + 3 < n; i += 4) {
            double d0 = v[i] - mu;
            double d1 = v[i + 1] - mu;
            double d2 = v[i + 2] - mu;
            double d3 = v[i + 3] - mu;
            s0 += d0 * d0;
            s1 += d1 * d1;
            s2 += d2 * d2;
            s3 += d3 * d3;
        }
        for (; i < n; i++) {
            double d = v[i] - mu;
            s0 += d * d;
        }
        return (s0 + s1) + (s2 + s3);
    }

    /** Sum of {@code a[i] * b[i]} over [from, to). */
    static double dot(double[] a, double[] b, int from, int to) {
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        int i = from;
        for (; i + 3 < to; i += 4) {
            s0 += a[i] * b[i];
            s1 += a[i + 1] * b[i + 1];
            s2 += a[i + 2] * b[i + 2];
            s3 += a[i + 3] * b[i + 3];
        }
        for (; i < to; i++) {
            s0 += a[i] * b[i];
        }
        return (s0 + s1) + (s2 + s3);
    }

    /**
     * {@code v > 0 ? g : 0} without a branch (after normalization the sign is a coin flip, and mispredicted
     * branches cost more than the rest of the loop): a mask of all ones exactly when v's bits are positive
     * and not zero, so +0.0 and -0.0 both block, as ReLU's derivative convention at 0 does.
     */
    static double reluGate(double v, double g) {
        long bits = Double.doubleToRawLongBits(v);
        long pass = ~(((bits - 1) | bits) >> 63);
        return Double.longBitsToDouble(Double.doubleToRawLongBits(g) & pass);
    }

    // ------------------------------------------------------------------ GroupNorm

    /**
     * y = act(gamma * (x - mean) * rstd + beta) over NCHW; fills {@code mean} and {@code rstd} per (n, g).
     */
    static void groupNormForward(Mem x, Mem y, Mem gammaMem, Mem betaMem, int n, int c, int hw, int groups, double eps,
                                 boolean relu, double[] mean, double[] rstd) {
        int cg = c / groups;
        int m = cg * hw;
        double[] gamma = vector(gammaMem, c);
        double[] beta = vector(betaMem, c);
        parallelFor(n * groups, task -> {
            int g = task % groups;
            long base = (long) task * m;
            Scratch s = SCRATCH.get().ensure(m);
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
    static void groupNormBackward(Mem x, Mem dy, Mem gammaMem, Mem betaMem, int n, int c, int hw, int groups, boolean relu,
                                  double[] mean, double[] rstd, Mem dx, Mem dGamma, Mem dBeta) {
        int cg = c / groups;
        int m = cg * hw;
        double[] gamma = vector(gammaMem, c);
        double[] beta = vector(betaMem, c);
        double[] pg = new double[n * c];
        double[] pb = new double[n * c];
        parallelFor(n * groups, task -> {
            int ni = task / groups;
            int g = task % groups;
            long base = (long) task * m;
            Scratch s = SCRATCH.get().ensure(m);
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

    // ------------------------------------------------------------------ GroupNorm, channels last

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
    private static void fold(double[] rep, int len, int c, double[] out) {
        java.util.Arrays.fill(out, 0, c, 0.0);
        for (int o = 0; o < len; o += c) {
            for (int ch = 0; ch < c; ch++) {
                out[ch] += rep[o + ch];
            }
        }
    }

    /**
     * As {@link #groupNormForward} over NHWC: one task per example, which streams its [H*W, C] block in
     * chunks of whole pixels. Statistics in one pass: per channel, sums of {@code x - k} and its square
     * about the channel's first value {@code k} (a shift that keeps the variance free of cancellation for
     * data with a large mean), combined per group exactly (Chan et al.); then one pass normalizes.
     */
    static void groupNormForwardNhwc(Mem x, Mem y, Mem gammaMem, Mem betaMem, int n, int c, int hw, int groups,
                                     double eps, boolean relu, double[] mean, double[] rstd) {
        int cg = c / groups;
        long m = (long) cg * hw;
        double[] gamma = vector(gammaMem, c);
        double[] beta = vector(betaMem, c);
        int rows = Math.max(1, NHWC_CHUNK / c);
        int chunk = rows * c;
        parallelFor(n, ni -> {
            Scratch s = SCRATCH.get().ensure(chunk).channels(c).repeated(chunk);
            double[] a = s.a;
            double[] shift = s.ch[0];
            double[] s1 = s.ch[1];
            double[] s2 = s.ch[2];
            double[] shiftR = s.rep[0];
            double[] s1R = s.rep[1];
            double[] s2R = s.rep[2];
            long base = (long) ni * hw * c;
            load(x, base, shift, c, s.f);
            repeat(shift, c, shiftR, chunk);
            java.util.Arrays.fill(s1R, 0, chunk, 0.0);
            java.util.Arrays.fill(s2R, 0, chunk, 0.0);
            for (int p0 = 0; p0 < hw; p0 += rows) {
                int len = Math.min(rows, hw - p0) * c;
                load(x, base + (long) p0 * c, a, len, s.f);
                for (int i = 0; i < len; i++) {
                    double d = a[i] - shiftR[i];
                    s1R[i] += d;
                    s2R[i] += d * d;
                }
            }
            fold(s1R, chunk, c, s1);
            fold(s2R, chunk, c, s2);
            double[] scale = s.ch[3];
            double[] offset = s.ch[4];
            for (int g = 0; g < groups; g++) {
                // Channel means and sums of squared deviations, then the group's by Chan's combination.
                double sumMeans = 0;
                for (int ch = g * cg; ch < (g + 1) * cg; ch++) {
                    sumMeans += shift[ch] + s1[ch] / hw;
                }
                double mu = sumMeans / cg;
                double m2 = 0;
                for (int ch = g * cg; ch < (g + 1) * cg; ch++) {
                    double dm = shift[ch] + s1[ch] / hw - mu;
                    m2 += (s2[ch] - s1[ch] * s1[ch] / hw) + hw * dm * dm;
                }
                double r = 1.0 / Math.sqrt(Math.max(m2, 0.0) / m + eps);
                mean[ni * groups + g] = mu;
                rstd[ni * groups + g] = r;
                for (int ch = g * cg; ch < (g + 1) * cg; ch++) {
                    scale[ch] = gamma[ch] * r;
                    offset[ch] = beta[ch] - mu * scale[ch];
                }
            }
            double[] scaleR = s.rep[0];
            double[] offsetR = s.rep[1];
            repeat(scale, c, scaleR, chunk);
            repeat(offset, c, offsetR, chunk);
            for (int p0 = 0; p0 < hw; p0 += rows) {
                int len = Math.min(rows, hw - p0) * c;
                long start = base + (long) p0 * c;
                load(x, start, a, len, s.f);
                if (relu) {
                    for (int i = 0; i < len; i++) {
                        a[i] = Math.max(a[i] * scaleR[i] + offsetR[i], 0.0);
                    }
                } else {
                    for (int i = 0; i < len; i++) {
                        a[i] = a[i] * scaleR[i] + offsetR[i];
                    }
                }
                store(a, len, y, start, s.f);
            }
        });
    }

    /**
     * As {@link #groupNormBackward} over NHWC: one task per example, two streaming passes. With
     * {@code v = scale * x + shift} the forward pre-activation and {@code d} the gated gradient, pass one
     * sums {@code d} and {@code d * x} per channel ({@code sum(d * xhat) = rstd * (sum(d * x) - mean * sum(d))});
     * pass two writes {@code dx = A * d + B * x + C} with per-channel constants folded from the group sums.
     */
    static void groupNormBackwardNhwc(Mem x, Mem dy, Mem gammaMem, Mem betaMem, int n, int c, int hw, int groups,
                                      boolean relu, double[] mean, double[] rstd, Mem dx, Mem dGamma, Mem dBeta) {
        int cg = c / groups;
        long m = (long) cg * hw;
        double[] gamma = vector(gammaMem, c);
        double[] beta = vector(betaMem, c);
        double[] pg = new double[n * c];
        double[] pb = new double[n * c];
        int rows = Math.max(1, NHWC_CHUNK / c);
        int chunk = rows * c;
        parallelFor(n, ni -> {
            Scratch s = SCRATCH.get().ensure(chunk).channels(c).repeated(chunk);
            double[] a = s.a;
            double[] b = s.b;
            double[] scale = s.ch[0];
            double[] shift = s.ch[1];
            for (int ch = 0; ch < c; ch++) {
                double mu = mean[ni * groups + ch / cg];
                double r = rstd[ni * groups + ch / cg];
                scale[ch] = gamma[ch] * r;
                shift[ch] = beta[ch] - mu * scale[ch];
            }
            double[] scaleR = s.rep[0];
            double[] shiftR = s.rep[1];
            double[] sdR = s.rep[2];
            double[] sdxR = s.rep[3];
            repeat(scale, c, scaleR, chunk);
            repeat(shift, c, shiftR, chunk);
            java.util.Arrays.fill(sdR, 0, chunk, 0.0);
            java.util.Arrays.fill(sdxR, 0, chunk, 0.0);
            long base = (long) ni * hw * c;
            for (int p0 = 0; p0 < hw; p0 += rows) {
                int len = Math.min(rows, hw - p0) * c;
                long start = base + (long) p0 * c;
                loadGated(x, dy, start, len, s, relu, scaleR, shiftR);
                for (int i = 0; i < len; i++) {
                    sdR[i] += b[i];
                    sdxR[i] += b[i] * a[i];
                }
            }
            double[] sd = s.ch[2];
            double[] sdx = s.ch[3];
            fold(sdR, chunk, c, sd);
            fold(sdxR, chunk, c, sdx);
            double[] ca = s.ch[4];
            double[] cb = s.ch[5];
            double[] cc = new double[c];
            for (int g = 0; g < groups; g++) {
                double mu = mean[ni * groups + g];
                double r = rstd[ni * groups + g];
                double sumD = 0;
                double sumDX = 0;
                for (int ch = g * cg; ch < (g + 1) * cg; ch++) {
                    double sdxhat = r * (sdx[ch] - mu * sd[ch]);
                    pg[ni * c + ch] = sdxhat;
                    pb[ni * c + ch] = sd[ch];
                    sumD += gamma[ch] * sd[ch];
                    sumDX += gamma[ch] * sdxhat;
                }
                double meanD = sumD / m;
                double meanDX = sumDX / m;
                // dx = r * (d * gamma - meanD - (x - mu) * r * meanDX) = A d + B x + C
                for (int ch = g * cg; ch < (g + 1) * cg; ch++) {
                    ca[ch] = r * gamma[ch];
                    cb[ch] = -r * r * meanDX;
                    cc[ch] = -r * meanD + r * r * meanDX * mu;
                }
            }
            double[] aR = s.rep[2];
            double[] bR = s.rep[3];
            double[] cR = s.rep[4];
            repeat(ca, c, aR, chunk);
            repeat(cb, c, bR, chunk);
            repeat(cc, c, cR, chunk);
            for (int p0 = 0; p0 < hw; p0 += rows) {
                int len = Math.min(rows, hw - p0) * c;
                long start = base + (long) p0 * c;
                loadGated(x, dy, start, len, s, relu, scaleR, shiftR);
                for (int i = 0; i < len; i++) {
                    b[i] = aR[i] * b[i] + bR[i] * a[i] + cR[i];
                }
                store(b, len, dx, start, s.f);
            }
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

    // ------------------------------------------------------------------ optimizer

    /** Below this many elements one Java pass beats ND4J's four native ops (their per-op cost dominates). */
    public static final int SMALL_STEP = 1 << 15;

    /**
     * Heavy-ball momentum for a small parameter block in one sequential pass:
     * {@code v = mu * v + g; g = lr * v} (g becomes the step DL4J subtracts). Returns false, doing nothing,
     * for blocks of {@link #SMALL_STEP} or more elements or arrays that cannot be addressed directly; the
     * caller then uses ND4J ops, which stream large blocks faster.
     */
    public static boolean smallMomentumStep(INDArray velocity, INDArray gradient, double mu, double lr) {
        long n = velocity.length();
        if (n >= SMALL_STEP || gradient.length() != n || velocity.dataType() != gradient.dataType()
                || !direct(velocity) || !direct(gradient)) {
            return false;
        }
        Mem v = mem(velocity);
        Mem g = mem(gradient);
        Scratch s = SCRATCH.get().ensure((int) n);
        double[] va = s.a;
        double[] ga = s.b;
        load(v, 0, va, (int) n, s.f);
        load(g, 0, ga, (int) n, s.f);
        for (int i = 0; i < n; i++) {
            double vi = mu * va[i] + ga[i];
            va[i] = vi;
            ga[i] = lr * vi;
        }
        store(va, (int) n, v, 0, s.f);
        store(ga, (int) n, g, 0, s.f);
        return true;
    }

    // ------------------------------------------------------------------ weight standardization

    /** Standardizes each of {@code rows} rows of {@code k} weights into {@code out}; fills {@code rstd}. */
    static void standardizeRows(Mem w, Mem out, int rows, int k, double eps, double[] rstd) {
        parallelFor(rows, o -> {
            Scratch s = SCRATCH.get().ensure(k);
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
            Scratch s = SCRATCH.get().ensure(k);
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
