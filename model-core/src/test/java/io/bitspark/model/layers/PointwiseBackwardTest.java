package io.bitspark.model.layers;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The matrix-product backprop of pointwise channels-last convolutions gives libnd4j's {@code conv2d_bp} result: both
 * gradients, in float32 (as training runs) and float64, on BiT-like shapes and on views of the epsilon.
 */
class PointwiseBackwardTest {

    @ParameterizedTest(name = "{0}: {1}x{2}x{3}x{4} -> {5}")
    @CsvSource({"FLOAT, 8, 16, 16, 64, 256", "FLOAT, 2, 4, 4, 512, 2048", "FLOAT, 3, 5, 7, 24, 8", "DOUBLE, 2, 3, 5, 6, 4"})
    void matchesConv2dBp(DataType type, int n, int h, int w, int in, int out) {
        Nd4j.getRandom().setSeed(17);
        INDArray x = Nd4j.randn(type, n, h, w, in);
        INDArray k = Nd4j.randn(type, out, in, 1, 1);
        // The epsilon arrives as a permuted view (not contiguous) as often as not.
        INDArray e = Nd4j.randn(type, n, out, h, w).permute(0, 2, 3, 1);
        INDArray dx = Nd4j.createUninitialized(type, x.shape(), 'c');
        INDArray dk = Nd4j.createUninitialized(type, k.shape(), 'c');
        StandardizedConv2DLayer.pointwiseBackward(x, k, e, dx, dk);

        INDArray rx = Nd4j.createUninitialized(type, x.shape(), 'c');
        INDArray rk = Nd4j.createUninitialized(type, k.shape(), 'c');
        Nd4j.exec(DynamicCustomOp.builder("conv2d_bp").addInputs(x, k, e.dup('c')).addOutputs(rx, rk)
                .addIntegerArguments(1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1).build());
        double tol = type == DataType.FLOAT ? 2e-4 : 1e-10;
        assertClose(rx, dx, tol, "input gradient");
        assertClose(rk, dk, tol, "kernel gradient");
    }

    private static void assertClose(INDArray want, INDArray got, double tol, String what) {
        double scale = Math.max(1, want.amaxNumber().doubleValue());
        double diff = want.castTo(DataType.DOUBLE).sub(got.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
        assertTrue(diff <= tol * scale, what + ": max difference " + diff + " against scale " + scale);
    }
}
