package io.bitspark.model.layers;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The float path of the fused kernels (raw addresses) computes what the double path computes (the path the
 * finite-difference gradient checks verify), on the same random data, including arrays at an offset
 * inside a larger buffer as parameter views are.
 */
class KernelsTest {

    static INDArray viewAtOffset(INDArray a) {
        INDArray big = Nd4j.create(a.dataType(), a.length() + 37);
        INDArray v = big.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(37, 37 + a.length())).reshape(a.shape());
        v.assign(a);
        return v;
    }

    static double rel(INDArray f, INDArray d) {
        double diff = f.castTo(DataType.DOUBLE).sub(d).amaxNumber().doubleValue();
        return diff / Math.max(1e-12, d.amaxNumber().doubleValue());
    }

    /** Outputs of one GroupNorm forward and backward call. */
    record GroupNormRun(INDArray y, INDArray dx, INDArray dGamma, INDArray dBeta, double[] mean, double[] rstd) {
        /** Runs forward then backward over NCHW ({@code nhwc} false) or NHWC arrays into fresh outputs. */
        static GroupNormRun of(boolean nhwc, INDArray x, INDArray dy, INDArray gamma, INDArray beta,
                               GroupNormKernels.Shape shape, boolean relu) {
            DataType t = x.dataType();
            GroupNormRun r = new GroupNormRun(Nd4j.create(t, x.shape()), Nd4j.create(t, x.shape()),
                    viewAtOffset(Nd4j.create(t, shape.c())), viewAtOffset(Nd4j.create(t, shape.c())),
                    new double[shape.n() * shape.groups()], new double[shape.n() * shape.groups()]);
            NativeMemory.Mem xm = NativeMemory.mem(x);
            NativeMemory.Mem gm = NativeMemory.mem(gamma);
            NativeMemory.Mem bm = NativeMemory.mem(beta);
            if (nhwc) {
                GroupNormKernels.groupNormForwardNhwc(xm, NativeMemory.mem(r.y), gm, bm, shape, 1e-5, relu, r.mean, r.rstd);
                GroupNormKernels.groupNormBackwardNhwc(xm, NativeMemory.mem(dy), gm, bm, shape, relu, r.mean, r.rstd,
                        NativeMemory.mem(r.dx), NativeMemory.mem(r.dGamma), NativeMemory.mem(r.dBeta));
            } else {
                GroupNormKernels.groupNormForward(xm, NativeMemory.mem(r.y), gm, bm, shape, 1e-5, relu, r.mean, r.rstd);
                GroupNormKernels.groupNormBackward(xm, NativeMemory.mem(dy), gm, bm, shape, relu, r.mean, r.rstd,
                        NativeMemory.mem(r.dx), NativeMemory.mem(r.dGamma), NativeMemory.mem(r.dBeta));
            }
            return r;
        }

        /** Asserts this (float) run within float tolerances of {@code d} (double), naming {@code what} on failure. */
        void assertCloseTo(GroupNormRun d, String what) {
            assertTrue(rel(y, d.y) < 1e-6, what + " forward " + rel(y, d.y));
            assertTrue(rel(dx, d.dx) < 1e-5, what + " dx " + rel(dx, d.dx));
            assertTrue(rel(dGamma, d.dGamma) < 1e-5, what + " dgamma " + rel(dGamma, d.dGamma));
            assertTrue(rel(dBeta, d.dBeta) < 1e-5, what + " dbeta " + rel(dBeta, d.dBeta));
        }
    }

    @Test
    void groupNormFloatMatchesDouble() {
        int n = 3, c = 12, hw = 35, g = 4;
        INDArray xd = GradientChecks.gaussian(1, n, c, 5, 7).muli(3).addi(1);
        INDArray dyd = GradientChecks.gaussian(2, n, c, 5, 7);
        INDArray gammaD = GradientChecks.gaussian(3, c).muli(0.5).addi(1);
        INDArray betaD = GradientChecks.gaussian(4, c).muli(0.3);
        GroupNormRun[] run = new GroupNormRun[2];
        for (int k = 0; k < 2; k++) {
            DataType t = k == 0 ? DataType.FLOAT : DataType.DOUBLE;
            run[k] = GroupNormRun.of(false, viewAtOffset(xd.castTo(t)), dyd.castTo(t), viewAtOffset(gammaD.castTo(t)),
                    viewAtOffset(betaD.castTo(t)), new GroupNormKernels.Shape(n, c, hw, g), true);
        }
        run[0].assertCloseTo(run[1], "NCHW");
        INDArray y = run[1].y();
        assertTrue(y.amaxNumber().doubleValue() > 0.5 && y.minNumber().doubleValue() == 0.0, "relu applied");
    }

    /**
     * Float arrays against double ones, for rows of a 1x1, a 3x3 and a wide 3x3 kernel (odd and even lengths for the
     * pairwise sums), and rows whose mean is large against their spread.
     */
    @Test
    void weightStandardizationFloatMatchesDouble() {
        for (double offset : new double[] {0.7, 300.0})
        for (int k : new int[] {45, 1000, 4608}) {
            int rows = 6;
            INDArray wd = GradientChecks.gaussian(5, rows, k).muli(2).addi(offset);
            INDArray gd = GradientChecks.gaussian(6, rows, k);
            INDArray[] std = new INDArray[2];
            INDArray[] dw = new INDArray[2];
            for (int j = 0; j < 2; j++) {
                DataType t = j == 0 ? DataType.FLOAT : DataType.DOUBLE;
                INDArray w = viewAtOffset(wd.castTo(DataType.FLOAT).castTo(t));
                std[j] = Nd4j.create(t, rows, k);
                dw[j] = viewAtOffset(Nd4j.create(t, rows, k));
                double[] rstd = new double[rows];
                WeightStandardizationKernels.standardizeRows(NativeMemory.mem(w), NativeMemory.mem(std[j]), rows, k, 1e-10, rstd);
                // Backward from the float standardized weights in both, so that only the arithmetic differs.
                WeightStandardizationKernels.standardizeRowsBackward(NativeMemory.mem(std[j].castTo(DataType.FLOAT).castTo(t)), rstd,
                        NativeMemory.mem(gd.castTo(DataType.FLOAT).castTo(t)), NativeMemory.mem(dw[j]), rows, k);
            }
            assertTrue(rel(std[0], std[1]) < 1e-6, k + ": forward " + rel(std[0], std[1]));
            assertTrue(rel(dw[0], dw[1]) < 1e-5, k + ": backward " + rel(dw[0], dw[1]));
            // Standardized rows have mean 0 and variance 1.
            INDArray s = std[1];
            assertTrue(s.mean(1).amaxNumber().doubleValue() < 1e-12);
            assertTrue(Math.abs(s.var(false, 1).getDouble(0) - 1) < 1e-9);
            INDArray f = std[0].castTo(DataType.DOUBLE);
            assertTrue(f.mean(1).amaxNumber().doubleValue() < 1e-6, k + ": float mean " + f.mean(1).amaxNumber());
            assertTrue(Math.abs(f.var(false, 1).getDouble(0) - 1) < 1e-5, k + ": float variance " + f.var(false, 1).getDouble(0));
        }
    }

    /**
     * Arrays deep inside a buffer larger than 2 GB (as every parameter of BiT-R152x4 is, in its 3.7 GB
     * flattened buffer) are addressed correctly: same results as on a small copy.
     */
    @Test
    void viewsBeyondTwoGigabytesAreAddressedCorrectly() {
        long n = 600_000_000L; // 2.4 GB of float, left uninitialised: only the tail is touched
        INDArray big = Nd4j.createUninitialized(DataType.FLOAT, n);
        int rows = 10;
        int k = 100;
        INDArray w = big.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(n - rows * k, n)).reshape(rows, k);
        INDArray values = GradientChecks.gaussian(7, rows, k).castTo(DataType.FLOAT);
        w.assign(values);
        INDArray out = Nd4j.create(DataType.FLOAT, rows, k);
        INDArray expected = Nd4j.create(DataType.FLOAT, rows, k);
        double[] rstd = new double[rows];
        WeightStandardizationKernels.standardizeRows(NativeMemory.mem(w), NativeMemory.mem(out), rows, k, 1e-10, rstd);
        WeightStandardizationKernels.standardizeRows(NativeMemory.mem(values.dup()), NativeMemory.mem(expected), rows, k, 1e-10, rstd);
        org.junit.jupiter.api.Assertions.assertEquals(expected, out);
        org.junit.jupiter.api.Assertions.assertTrue(out.amaxNumber().doubleValue() > 1);
    }

    /**
     * The channels-last GroupNorm kernels compute what the channels-first ones compute on the transposed
     * data, in float and double, including inputs with a large mean (the one-pass shifted statistics) and
     * a pixel count that leaves a partial last chunk.
     */
    @Test
    void groupNormChannelsLastMatchesChannelsFirst() {
        int n = 3, c = 48, h = 19, w = 23, g = 6;
        int hw = h * w;
        for (double offset : new double[] {0.0, 1000.0}) {
            for (DataType t : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
                INDArray x = GradientChecks.gaussian(31, n, c, h, w).muli(2).addi(offset).castTo(t);
                INDArray dy = GradientChecks.gaussian(32, n, c, h, w).castTo(t);
                INDArray gamma = GradientChecks.gaussian(33, c).muli(0.5).addi(1).castTo(t);
                INDArray beta = GradientChecks.gaussian(34, c).muli(0.3).castTo(t);
                INDArray xl = x.permute(0, 2, 3, 1).dup('c');
                INDArray dyl = dy.permute(0, 2, 3, 1).dup('c');
                GroupNormKernels.Shape shape = new GroupNormKernels.Shape(n, c, hw, g);
                GroupNormRun first = GroupNormRun.of(false, x, dy, gamma, beta, shape, true);
                GroupNormRun last = GroupNormRun.of(true, xl, dyl, gamma, beta, shape, true);
                double[] mean = first.mean();
                double[] rstd = first.rstd();
                double[] meanL = last.mean();
                double[] rstdL = last.rstd();
                double tol = t == DataType.FLOAT ? 1e-5 : 1e-10;
                String what = t + " offset " + offset;
                // Channels-last float arrays compute per element in float (GroupNormNhwcFloat): their statistics agree
                // to float rounding, within a millionth of a standard deviation; double arrays to double rounding.
                boolean single = t == DataType.FLOAT && GroupNormKernels.FLOAT_NHWC;
                for (int i = 0; i < n * g; i++) {
                    double meanTol = single ? 1e-6 / rstd[i] : 1e-12 * (1 + Math.abs(mean[i]));
                    double rstdTol = single ? 1e-6 : 1e-9;
                    assertTrue(Math.abs(mean[i] - meanL[i]) <= meanTol, what + " mean " + i + ": " + mean[i] + " vs " + meanL[i]);
                    assertTrue(Math.abs(rstd[i] - rstdL[i]) <= rstdTol * rstd[i], what + " rstd " + i + ": " + rstd[i] + " vs " + rstdL[i]);
                }
                INDArray ylBack = last.y().permute(0, 3, 1, 2);
                INDArray dxlBack = last.dx().permute(0, 3, 1, 2);
                INDArray y = first.y().castTo(DataType.DOUBLE);
                INDArray dx = first.dx().castTo(DataType.DOUBLE);
                assertTrue(rel(ylBack.castTo(t), y) < tol, what + " forward " + rel(ylBack, y));
                assertTrue(rel(dxlBack.castTo(t), dx) < tol, what + " dx " + rel(dxlBack, dx));
                assertTrue(rel(last.dGamma(), first.dGamma().castTo(DataType.DOUBLE)) < tol, what + " dgamma");
                assertTrue(rel(last.dBeta(), first.dBeta().castTo(DataType.DOUBLE)) < tol, what + " dbeta");
            }
        }
    }

    /**
     * The float channels-last kernels against the same kernels on double arrays, for layers wider than one scratch
     * chunk (a chunk is then a single pixel) and for more pixels than one float partial sum takes, with and without ReLU.
     */
    @Test
    void groupNormFloatChannelsLastMatchesDoubleOnWideAndLongLayers() {
        int[][] shapes = {{2, 2560, 15, 32}, {2, 64, 900, 32}};
        for (int[] sh : shapes) {
            for (boolean relu : new boolean[] {true, false}) {
                int n = sh[0], c = sh[1], hw = sh[2], g = sh[3];
                GroupNormKernels.Shape shape = new GroupNormKernels.Shape(n, c, hw, g);
                GroupNormRun[] run = new GroupNormRun[2];
                for (int k = 0; k < 2; k++) {
                    DataType t = k == 0 ? DataType.FLOAT : DataType.DOUBLE;
                    INDArray x = GradientChecks.gaussian(41, n, hw, c).muli(3).addi(0.5).castTo(DataType.FLOAT).castTo(t);
                    INDArray dy = GradientChecks.gaussian(42, n, hw, c).castTo(DataType.FLOAT).castTo(t);
                    INDArray gamma = GradientChecks.gaussian(43, c).muli(0.5).addi(1).castTo(DataType.FLOAT).castTo(t);
                    INDArray beta = GradientChecks.gaussian(44, c).muli(0.3).castTo(DataType.FLOAT).castTo(t);
                    run[k] = GroupNormRun.of(true, x, dy, gamma, beta, shape, relu);
                }
                run[0].assertCloseTo(run[1], c + " channels, " + hw + " pixels, relu " + relu);
            }
        }
    }

    /** The small-block momentum step equals the ND4J op sequence it replaces, in float and double. */
    @Test
    void smallMomentumStepMatchesTheOpSequence() {
        for (DataType t : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
            int n = 3001;
            INDArray v = viewAtOffset(GradientChecks.gaussian(8, n).castTo(t));
            INDArray g = viewAtOffset(GradientChecks.gaussian(9, n).castTo(t));
            INDArray vRef = v.castTo(DataType.DOUBLE).dup().muli(0.9).addi(g.castTo(DataType.DOUBLE));
            INDArray gRef = vRef.mul(0.05);
            org.junit.jupiter.api.Assertions.assertTrue(MomentumKernels.smallMomentumStep(v, g, 0.9, 0.05));
            double tol = t == DataType.FLOAT ? 1e-6 : 1e-15;
            assertTrue(rel(v, vRef) < tol, t + " velocity " + rel(v, vRef));
            assertTrue(rel(g, gRef) < tol, t + " step " + rel(g, gRef));
        }
        // Large blocks and non-contiguous arrays are left to ND4J.
        org.junit.jupiter.api.Assertions.assertFalse(MomentumKernels.smallMomentumStep(
                Nd4j.create(DataType.FLOAT, MomentumKernels.SMALL_STEP), Nd4j.create(DataType.FLOAT, MomentumKernels.SMALL_STEP), 0.9, 0.1));
        INDArray m = Nd4j.create(DataType.FLOAT, 4, 4);
        org.junit.jupiter.api.Assertions.assertFalse(MomentumKernels.smallMomentumStep(m.getColumn(1), m.getColumn(2), 0.9, 0.1));
    }

    /** Kernel threads follow OMP_NUM_THREADS (as libnd4j does), else all cores; bad values fall back. */
    @Test
    void kernelThreadsFollowOmpNumThreads() {
        org.junit.jupiter.api.Assertions.assertEquals(4, KernelPool.threads("4", 16));
        org.junit.jupiter.api.Assertions.assertEquals(3, KernelPool.threads(" 3,2", 16));
        org.junit.jupiter.api.Assertions.assertEquals(16, KernelPool.threads(null, 16));
        org.junit.jupiter.api.Assertions.assertEquals(8, KernelPool.threads("0", 8));
        org.junit.jupiter.api.Assertions.assertEquals(8, KernelPool.threads("many", 8));
        // The test JVM runs with OMP_NUM_THREADS=2 (surefire), like a 2-core task slot.
        org.junit.jupiter.api.Assertions.assertEquals(2, KernelPool.THREADS);
    }
}
