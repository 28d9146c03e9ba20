package io.bitspark.model.layers;

import static io.bitspark.model.layers.KernelPool.parallelFor;
import static io.bitspark.model.layers.NativeMemory.readFloats;
import static io.bitspark.model.layers.NativeMemory.vector;
import static io.bitspark.model.layers.NativeMemory.writeFloats;

import io.bitspark.model.layers.NativeMemory.Mem;

/**
 * GroupNorm (+ ReLU) over channels-last float arrays, the layout and type BiT models train in: the algorithm of
 * {@link GroupNormKernels}'s channels-last kernels with the per-element work in float and every sum in double.
 *
 * <p>Written for the JIT's auto-vectorizer, which handles a short loop over a few arrays at one index and gives up
 * on a long fused body that both gates by ReLU and accumulates: each chunk of whole pixels goes through one or two
 * such loops over L1-resident float scratch, with the per-channel constants repeated to the chunk's length. The ReLU
 * gate is arithmetic ({@link #step}). Sums accumulate per position in float over at most {@value #FLUSH} chunks, then
 * in double, and are folded per channel at the end. Values are centred before they are scaled ({@code x - HI}, HI the
 * group mean rounded to float; its rounding error is folded into the per-channel shift and sums in double), so a
 * large mean costs no precision. Backward's first pass stores the gated gradient in dx, where the second pass reads
 * it instead of gating again. One task per example, fixed order: results do not depend on thread scheduling.
 * {@code KernelsTest} holds these kernels to the double ones.
 */
final class GroupNormNhwcFloat {

    private GroupNormNhwcFloat() {}

    /** Chunks whose float partial sums are added up before they go into the double totals. */
    private static final int FLUSH = 8;
    /** Floats per chunk: whole pixels, about 8 KB per scratch array. */
    private static final int CHUNK = 1 << 11;

    /** Scratch slots: a chunk of x, of the gradient, the forward shift k, partial sums. */
    private static final int X = 0, D = 1, K = 2, P1 = 3, P2 = 4;
    /** Scratch slots: per-channel constants repeated over a chunk. */
    private static final int HI = 5, SCALE = 6, SHIFT = 7, B = 8, C = 9;
    /** Per-channel double slots (one example's values, reused across examples and calls). */
    private static final int SHIFTS = 0, SUM1 = 1, SUM2 = 2, MEAN = 3, MEAN_LO = 4, SCALES = 5, CA = 6, CB = 7, CC = 8,
            AFFINE = 9;

    /** Per-thread scratch: chunk-length float vectors and double totals, grown on demand and kept. */
    private static final class Scratch {
        float[][] v = new float[10][0];
        double[][] tot = new double[2][0];
        /** Per-channel doubles of one example, reused: shifts, sums, mean, its rounding error, scale, A B C. */
        double[][] ch = new double[10][0];
        GroupNormKernels.Chunks chunks;
        int size;

        Scratch ensure(GroupNormKernels.Chunks chunks) {
            this.chunks = chunks;
            size = chunks.size();
            int chunk = size;
            if (ch[0].length < chunks.c()) {
                for (int i = 0; i < ch.length; i++) {
                    ch[i] = new double[chunks.c()];
                }
            }
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

        /** Clears the float partial sums and the double totals. */
        void clearSums() {
            java.util.Arrays.fill(v[P1], 0, size, 0f);
            java.util.Arrays.fill(v[P2], 0, size, 0f);
            java.util.Arrays.fill(tot[0], 0, size, 0.0);
            java.util.Arrays.fill(tot[1], 0, size, 0.0);
        }

        /**
         * Adds {@code d} and {@code d * x} over {@code [0, len)} to the float partial sums, and every {@value #FLUSH}th
         * chunk moves those partials into the double totals.
         */
        void accumulate(float[] d, float[] x, int len, int chunkIndex) {
            float[] p1 = v[P1];
            float[] p2 = v[P2];
            for (int i = 0; i < len; i++) {
                p1[i] += d[i];
                p2[i] += d[i] * x[i];
            }
            flushEvery(chunkIndex);
        }

        /** After chunk {@code chunkIndex}: every {@value #FLUSH}th chunk moves the float partials into the double totals. */
        void flushEvery(int chunkIndex) {
            if ((chunkIndex + 1) % FLUSH == 0) {
                flushPartials();
            }
        }

        private void flushPartials() {
            flush(v[P1], tot[0], size);
            flush(v[P2], tot[1], size);
        }

        /** The per-channel totals of {@code d} and {@code d * x} over all chunks: {@code {sum d, sum d x}}. */
        double[][] sums(int c) {
            flushPartials();
            double[] s1 = ch[SUM1];
            double[] s2 = ch[SUM2];
            GroupNormKernels.fold(tot[0], size, c, s1);
            GroupNormKernels.fold(tot[1], size, c, s2);
            return new double[][] {s1, s2};
        }

        /**
         * Repeats the per-channel constants of example {@code ni} over a chunk: the group mean as a float ({@code HI}),
         * {@code gamma * rstd} ({@code SCALE}) and the shift that completes the affine map of {@code x - HI}
         * ({@code SHIFT}: {@code beta - scale * lo}, lo the mean's rounding error); keeps the rounding errors per
         * channel in {@code MEAN_LO}.
         */
        void constants(double[] mean, int ni, GroupNormKernels.Shape shape, double[] scale, double[] beta) {
            int c = shape.c();
            double[] mg = GroupNormKernels.perChannel(mean, ni, shape, ch[MEAN]);
            double[] lo = ch[MEAN_LO];
            double[] shift = ch[AFFINE];
            for (int ch = 0; ch < c; ch++) {
                lo[ch] = mg[ch] - (float) mg[ch];
                shift[ch] = beta[ch] - scale[ch] * lo[ch];
            }
            repeat(mg, c, v[HI], size);
            repeat(scale, c, v[SCALE], size);
            repeat(shift, c, v[SHIFT], size);
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** One example's share of a kernel: its index, this thread's scratch (sized to the chunks), gamma and beta. */
    @FunctionalInterface
    private interface PerExample {
        void run(int ni, Scratch s, double[] gamma, double[] beta);
    }

    /** Runs {@code body} for every example, one task each, with gamma and beta read once as doubles. */
    private static void perExample(GroupNormKernels.Shape shape, Mem gammaMem, Mem betaMem, PerExample body) {
        double[] gamma = vector(gammaMem, shape.c());
        double[] beta = vector(betaMem, shape.c());
        GroupNormKernels.Chunks chunks = GroupNormKernels.Chunks.of(shape, CHUNK);
        parallelFor(shape.n(), ni -> body.run(ni, SCRATCH.get().ensure(chunks), gamma, beta));
    }

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

    /** {@code perChannel[0..c)} repeated over {@code out[0..len)} ({@code len} a multiple of {@code c}). */
    private static void repeat(double[] perChannel, int c, float[] out, int len) {
        for (int ch = 0; ch < c; ch++) {
            out[ch] = (float) perChannel[ch];
        }
        for (int at = c; at < len; at += c) {
            System.arraycopy(out, 0, out, at, c);
        }
    }

    /** Adds the float partials into the double totals and clears them. */
    private static void flush(float[] p, double[] tot, int len) {
        for (int i = 0; i < len; i++) {
            tot[i] += p[i];
        }
        java.util.Arrays.fill(p, 0, len, 0f);
    }

    /** {@link GroupNormKernels#groupNormForwardNhwc} for float arrays. */
    static void forward(Mem x, Mem y, Mem gammaMem, Mem betaMem, GroupNormKernels.Shape shape, double eps, boolean relu,
                        double[] mean, double[] rstd) {
        int c = shape.c();
        perExample(shape, gammaMem, betaMem, (ni, s, gamma, beta) -> {
            GroupNormKernels.Chunks chunks = s.chunks;
            float[] xs = s.v[X];
            float[] kR = s.v[K];
            // Sums of x - k and its square per channel, k the channel's first value (no cancellation for a large mean).
            double[] k = s.ch[SHIFTS];
            readFloats(x, chunks.start(ni), xs, c);
            for (int ch = 0; ch < c; ch++) {
                k[ch] = xs[ch];
            }
            repeat(k, c, kR, chunks.size());
            s.clearSums();
            float[] p1 = s.v[P1];
            float[] p2 = s.v[P2];
            chunks.forEach(ni, (index, start, len) -> {
                readFloats(x, start, xs, len);
                for (int i = 0; i < len; i++) {
                    float v = xs[i] - kR[i];
                    p1[i] += v;
                    p2[i] += v * v;
                }
                s.flushEvery(index);
            });
            double[][] sums = s.sums(c);
            GroupNormKernels.groupStatistics(k, sums[0], sums[1], shape.hw(), shape.groups(), c / shape.groups(), eps, ni,
                    mean, rstd);
            s.constants(mean, ni, shape, GroupNormKernels.scale(gamma, rstd, ni, shape, s.ch[SCALES]), beta);
            float[] scaleR = s.v[SCALE];
            float[] shiftR = s.v[SHIFT];
            float lower = relu ? 0f : Float.NEGATIVE_INFINITY;
            float[] hi = s.v[HI];
            chunks.forEach(ni, (index, start, len) -> {
                readFloats(x, start, xs, len);
                for (int i = 0; i < len; i++) {
                    xs[i] = Math.max(scaleR[i] * (xs[i] - hi[i]) + shiftR[i], lower);
                }
                writeFloats(xs, len, y, start);
            });
        });
    }

    /** {@link GroupNormKernels#groupNormBackwardNhwc} for float arrays; each example's dGamma and dBeta partials go to pg, pb. */
    static void backward(Mem x, Mem dy, Mem gammaMem, Mem betaMem, GroupNormKernels.Shape shape, boolean relu,
                         double[] mean, double[] rstd, Mem dx, double[] pg, double[] pb) {
        int c = shape.c();
        perExample(shape, gammaMem, betaMem, (ni, s, gamma, beta) -> {
            GroupNormKernels.Chunks chunks = s.chunks;
            float[] xs = s.v[X];
            float[] ds = s.v[D];
            s.constants(mean, ni, shape, GroupNormKernels.scale(gamma, rstd, ni, shape, s.ch[SCALES]), beta);
            float[] hi = s.v[HI];
            float[] scaleR = s.v[SCALE];
            float[] shiftR = s.v[SHIFT];
            s.clearSums();
            // Pass one: the gradient d gated as the forward ReLU was (the same float expression), stored in dx for
            // pass two, and per channel the sums of d and of d * (x - HI).
            chunks.forEach(ni, (index, start, len) -> {
                readFloats(x, start, xs, len);
                readFloats(dy, start, ds, len);
                if (relu) {
                    for (int i = 0; i < len; i++) {
                        float xc = xs[i] - hi[i];
                        xs[i] = xc;
                        ds[i] *= step(scaleR[i] * xc + shiftR[i]);
                    }
                } else {
                    for (int i = 0; i < len; i++) {
                        xs[i] = xs[i] - hi[i];
                    }
                }
                writeFloats(ds, len, dx, start);
                s.accumulate(ds, xs, len, index);
            });
            double[][] sums = s.sums(c);
            // Sums of d * (x - mean): x - HI less the mean's rounding error.
            double[] lo = s.ch[MEAN_LO];
            for (int ch = 0; ch < c; ch++) {
                sums[1][ch] -= lo[ch] * sums[0][ch];
            }
            double[][] abc = GroupNormKernels.backwardConstants(sums[0], sums[1], gamma, rstd, ni, shape, pg, pb,
                    new double[][] {s.ch[CA], s.ch[CB], s.ch[CC]});
            // dx = A d + B (x - mean) + C = A d + B (x - HI) + (C - B lo). A = rstd * gamma is the forward scale
            // gamma * rstd (the same double product, so the same float) already repeated in SCALE.
            double[] cb = abc[1];
            double[] cc = abc[2];
            for (int ch = 0; ch < c; ch++) {
                cc[ch] -= cb[ch] * lo[ch];
            }
            float[] bR = s.v[B];
            float[] cR = s.v[C];
            repeat(cb, c, bR, chunks.size());
            repeat(cc, c, cR, chunks.size());
            // Pass two: reads the gated d back from dx.
            chunks.forEach(ni, (index, start, len) -> {
                readFloats(x, start, xs, len);
                readFloats(dx, start, ds, len);
                for (int i = 0; i < len; i++) {
                    ds[i] = scaleR[i] * ds[i] + bR[i] * (xs[i] - hi[i]) + cR[i];
                }
                writeFloats(ds, len, dx, start);
            });
        });
    }
}
