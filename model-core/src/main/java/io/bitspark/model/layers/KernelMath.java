package io.bitspark.model.layers;

/** Reductions over {@code double[]} scratch and the branch-free ReLU gate the kernels share. */
final class KernelMath {

    private KernelMath() {}

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

    /**
     * Pairwise sum of {@code v[0..n)} in float, halving into the scratch {@code a} and {@code b} (each at least
     * {@code (n + 1) / 2} long) until 32 partials remain, which are added in double: every level is one loop the JIT
     * vectorizes, and the error grows with log n rather than n. {@code v} is left as it was.
     */
    static double pairwiseSum(float[] v, int n, float[] a, float[] b) {
        float[] src = v;
        float[] dst = a;
        while (n > 32) {
            int half = n >>> 1;
            for (int i = 0; i < half; i++) {
                dst[i] = src[i] + src[i + half];
            }
            if ((n & 1) != 0) {
                dst[0] += src[n - 1];
            }
            n = half;
            src = dst;
            dst = dst == a ? b : a;
        }
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += src[i];
        }
        return s;
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
}
