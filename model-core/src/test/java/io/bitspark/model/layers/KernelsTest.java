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

    @Test
    void groupNormFloatMatchesDouble() {
        int n = 3, c = 12, hw = 35, g = 4;
        INDArray xd = GradientChecks.gaussian(1, n, c, 5, 7).muli(3).addi(1);
        INDArray dyd = GradientChecks.gaussian(2, n, c, 5, 7);
        INDArray gammaD = GradientChecks.gaussian(3, c).muli(0.5).addi(1);
        INDArray betaD = GradientChecks.gaussian(4, c).muli(0.3);
        double[][] out = new double[2][];
        INDArray[] y = new INDArray[2];
        INDArray[] dx = new INDArray[2];
        INDArray[] dGamma = new INDArray[2];
        INDArray[] dBeta = new INDArray[2];
        for (int k = 0; k < 2; k++) {
            DataType t = k == 0 ? DataType.FLOAT : DataType.DOUBLE;
            INDArray x = viewAtOffset(xd.castTo(t));
            INDArray dy = dyd.castTo(t);
            INDArray gamma = viewAtOffset(gammaD.castTo(t));
            INDArray beta = viewAtOffset(betaD.castTo(t));
            y[k] = Nd4j.create(t, x.shape());
            dx[k] = Nd4j.create(t, x.shape());
            dGamma[k] = viewAtOffset(Nd4j.create(t, c));
            dBeta[k] = viewAtOffset(Nd4j.create(t, c));
            double[] mean = new double[n * g];
            double[] rstd = new double[n * g];
            GroupNormKernels.groupNormForward(NativeMemory.mem(x), NativeMemory.mem(y[k]), NativeMemory.mem(gamma),
                    NativeMemory.mem(beta), new GroupNormKernels.Shape(n, c, hw, g), 1e-5, true, mean, rstd);
            GroupNormKernels.groupNormBackward(NativeMemory.mem(x), NativeMemory.mem(dy), NativeMemory.mem(gamma),
                    NativeMemory.mem(beta), new GroupNormKernels.Shape(n, c, hw, g), true, mean, rstd, NativeMemory.mem(dx[k]),
                    NativeMemory.mem(dGamma[k]), NativeMemory.mem(dBeta[k]));
            out[k] = mean;
        }
        assertTrue(rel(y[0], y[1]) < 1e-6, "forward " + rel(y[0], y[1]));
        assertTrue(rel(dx[0], dx[1]) < 1e-5, "dx " + rel(dx[0], dx[1]));
        assertTrue(rel(dGamma[0], dGamma[1]) < 1e-5, "dgamma " + rel(dGamma[0], dGamma[1]));
        assertTrue(rel(dBeta[0], dBeta[1]) < 1e-5, "dbeta " + rel(dBeta[0], dBeta[1]));
        assertTrue(y[1].amaxNumber().doubleValue() > 0.5 && y[1].minNumber().doubleValue() == 0.0, "relu applied");
    }

    /** Float arrays against double ones, for rows of a 1x1, a 3x3 and a wide 3x3 kernel. */
    @Test
    void weightStandardizationFloatMatchesDouble() {
        for (int k : new int[] {45, 1000, 4608}) {
            int rows = 6;
            INDArray wd = GradientChecks.gaussian(5, rows, k).muli(2).addi(0.7);
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
                INDArray y = x.ulike();
                INDArray yl = xl.ulike();
                INDArray dx = x.ulike();
                INDArray dxl = xl.ulike();
                INDArray dGamma = gamma.ulike();
                INDArray dBeta = gamma.ulike();
                INDArray dGammaL = gamma.ulike();
                INDArray dBetaL = gamma.ulike();
                double[] mean = new double[n * g];
                double[] rstd = new double[n * g];
                double[] meanL = new double[n * g];
                double[] rstdL = new double[n * g];
                GroupNormKernels.groupNormForward(NativeMemory.mem(x), NativeMemory.mem(y), NativeMemory.mem(gamma),
                        NativeMemory.mem(beta), new GroupNormKernels.Shape(n, c, hw, g), 1e-5, true, mean, rstd);
                GroupNormKernels.groupNormBackward(NativeMemory.mem(x), NativeMemory.mem(dy), NativeMemory.mem(gamma),
                        NativeMemory.mem(beta), new GroupNormKernels.Shape(n, c, hw, g), true, mean, rstd, NativeMemory.mem(dx),
                        NativeMemory.mem(dGamma), NativeMemory.mem(dBeta));
                GroupNormKernels.groupNormForwardNhwc(NativeMemory.mem(xl), NativeMemory.mem(yl), NativeMemory.mem(gamma),
                        NativeMemory.mem(beta), new GroupNormKernels.Shape(n, c, hw, g), 1e-5, true, meanL, rstdL);
                GroupNormKernels.groupNormBackwardNhwc(NativeMemory.mem(xl), NativeMemory.mem(dyl), NativeMemory.mem(gamma),
                        NativeMemory.mem(beta), new GroupNormKernels.Shape(n, c, hw, g), true, meanL, rstdL, NativeMemory.mem(dxl),
                        NativeMemory.mem(dGammaL), NativeMemory.mem(dBetaL));
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
                INDArray ylBack = yl.permute(0, 3, 1, 2);
                INDArray dxlBack = dxl.permute(0, 3, 1, 2);
                assertTrue(rel(ylBack.castTo(t), y.castTo(DataType.DOUBLE)) < tol, what + " forward " + rel(ylBack, y.castTo(DataType.DOUBLE)));
                assertTrue(rel(dxlBack.castTo(t), dx.castTo(DataType.DOUBLE)) < tol, what + " dx " + rel(dxlBack, dx.castTo(DataType.DOUBLE)));
                assertTrue(rel(dGammaL, dGamma.castTo(DataType.DOUBLE)) < tol, what + " dgamma");
                assertTrue(rel(dBetaL, dBeta.castTo(DataType.DOUBLE)) < tol, what + " dbeta");
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
                INDArray[] y = new INDArray[2];
                INDArray[] dx = new INDArray[2];
                INDArray[] dGamma = new INDArray[2];
                INDArray[] dBeta = new INDArray[2];
                for (int k = 0; k < 2; k++) {
                    DataType t = k == 0 ? DataType.FLOAT : DataType.DOUBLE;
                    INDArray x = GradientChecks.gaussian(41, n, hw, c).muli(3).addi(0.5).castTo(DataType.FLOAT).castTo(t);
                    INDArray dy = GradientChecks.gaussian(42, n, hw, c).castTo(DataType.FLOAT).castTo(t);
                    INDArray gamma = GradientChecks.gaussian(43, c).muli(0.5).addi(1).castTo(DataType.FLOAT).castTo(t);
                    INDArray beta = GradientChecks.gaussian(44, c).muli(0.3).castTo(DataType.FLOAT).castTo(t);
                    y[k] = x.ulike();
                    dx[k] = x.ulike();
                    dGamma[k] = gamma.ulike();
                    dBeta[k] = gamma.ulike();
                    double[] mean = new double[n * g];
                    double[] rstd = new double[n * g];
                    GroupNormKernels.groupNormForwardNhwc(NativeMemory.mem(x), NativeMemory.mem(y[k]), NativeMemory.mem(gamma),
                            NativeMemory.mem(beta), shape, 1e-5, relu, mean, rstd);
                    GroupNormKernels.groupNormBackwardNhwc(NativeMemory.mem(x), NativeMemory.mem(dy), NativeMemory.mem(gamma),
                            NativeMemory.mem(beta), shape, relu, mean, rstd, NativeMemory.mem(dx[k]), NativeMemory.mem(dGamma[k]),
                            NativeMemory.mem(dBeta[k]));
                }
                String what = c + " channels, " + hw + " pixels, relu " + relu;
                assertTrue(rel(y[0].castTo(DataType.DOUBLE), y[1]) < 1e-6, what + " forward " + rel(y[0].castTo(DataType.DOUBLE), y[1]));
                assertTrue(rel(dx[0].castTo(DataType.DOUBLE), dx[1]) < 1e-5, what + " dx " + rel(dx[0].castTo(DataType.DOUBLE), dx[1]));
                assertTrue(rel(dGamma[0].castTo(DataType.DOUBLE), dGamma[1]) < 1e-5, what + " dgamma");
                assertTrue(rel(dBeta[0].castTo(DataType.DOUBLE), dBeta[1]) < 1e-5, what + " dbeta");
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
