package io.bitspark.model.layers;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The channels-last im2col backprop gives libnd4j's {@code conv2d_bp} gradients: the kernel gradient alone (the root
 * convolution; one im2col block and several; odd sizes, where the last window is cut by the padding) and both
 * gradients of 3x3 convolutions over small images (also with a stride), in float32 and float64, with the output
 * gradient arriving as a permuted view.
 */
class ConvGemmBackwardTest {

    @ParameterizedTest(name = "{0}: {1}x{2}x{2}x{3} -> {4}, k{5} s{6} p{7}")
    @CsvSource({
            "FLOAT, 2, 20, 3, 8, 7, 2, 3",
            "FLOAT, 2, 21, 3, 8, 7, 2, 3",
            // 16 x 64 x 64 positions of 147 columns: more than one im2col block.
            "FLOAT, 16, 128, 3, 16, 7, 2, 3",
            "DOUBLE, 2, 9, 3, 4, 7, 2, 3",
            "FLOAT, 2, 6, 5, 6, 3, 1, 1"})
    void kernelGradientMatchesConv2dBp(DataType type, int n, int size, int in, int out, int k, int s, int p) {
        Conv c = new Conv(type, true, n, size, in, out, k, s, p);
        INDArray dw = Nd4j.createUninitialized(type, c.w.shape(), 'c');
        ConvGemmBackward.kernelGradient(c.x, c.eps, dw, ConvGemmBackward.Shape.of(c.x, c.w, s, p, true),
                LayerWorkspaceMgr.noWorkspaces());
        assertClose(c.reference()[1], dw, type, "kernel gradient");
    }

    @ParameterizedTest(name = "{0}: {1}x{2}x{2}x{3} -> {4}, s{5}")
    @CsvSource({
            "FLOAT, 8, 4, 64, 48, 1",
            "FLOAT, 2, 7, 32, 16, 1",
            "FLOAT, 3, 9, 8, 12, 2",
            "DOUBLE, 2, 5, 6, 4, 1",
            "DOUBLE, 2, 6, 3, 5, 2"})
    void bothGradientsMatchConv2dBp(DataType type, int n, int size, int in, int out, int s) {
        Conv c = new Conv(type, true, n, size, in, out, 3, s, 1);
        INDArray dx = Nd4j.createUninitialized(type, c.x.shape(), 'c');
        INDArray dw = Nd4j.createUninitialized(type, c.w.shape(), 'c');
        ConvGemmBackward.backward(c.x, c.w, c.eps, dx, dw, ConvGemmBackward.Shape.of(c.x, c.w, s, 1, true),
                LayerWorkspaceMgr.noWorkspaces());
        INDArray[] want = c.reference();
        assertClose(want[0], dx, type, "input gradient");
        assertClose(want[1], dw, type, "kernel gradient");
    }

    @Test
    void channelsFirstIsRefused() {
        Conv c = new Conv(DataType.FLOAT, false, 1, 5, 2, 2, 3, 1, 1);
        ConvGemmBackward.Shape g = ConvGemmBackward.Shape.of(c.x, c.w, 1, 1, false);
        assertThrows(IllegalArgumentException.class, () -> ConvGemmBackward.backward(c.x, c.w, c.eps,
                c.x.ulike(), c.w.ulike(), g, LayerWorkspaceMgr.noWorkspaces()));
        assertThrows(IllegalArgumentException.class, () -> ConvGemmBackward.kernelGradient(c.x, c.eps, c.w.ulike(), g,
                LayerWorkspaceMgr.noWorkspaces()));
    }

    /** A convolution's input, kernel (OIHW) and output gradient (a permuted view), and conv2d_bp's gradients. */
    private static final class Conv {
        final INDArray x;
        final INDArray w;
        final INDArray eps;
        final boolean nhwc;
        final int k;
        final int s;
        final int p;

        Conv(DataType type, boolean nhwc, int n, int size, int in, int out, int k, int s, int p) {
            Nd4j.getRandom().setSeed(31L * size + in);
            this.nhwc = nhwc;
            this.k = k;
            this.s = s;
            this.p = p;
            int o = (size + 2 * p - k) / s + 1;
            x = nhwc ? Nd4j.randn(type, n, size, size, in) : Nd4j.randn(type, n, in, size, size);
            w = Nd4j.randn(type, out, in, k, k);
            eps = nhwc ? Nd4j.randn(type, n, out, o, o).permute(0, 2, 3, 1) : Nd4j.randn(type, n, o, o, out).permute(0, 3, 1, 2);
        }

        INDArray[] reference() {
            INDArray rx = Nd4j.createUninitialized(x.dataType(), x.shape(), 'c');
            INDArray rw = Nd4j.createUninitialized(w.dataType(), w.shape(), 'c');
            Nd4j.exec(DynamicCustomOp.builder("conv2d_bp").addInputs(x, w, eps.dup('c')).addOutputs(rx, rw)
                    .addIntegerArguments(k, k, s, s, p, p, 1, 1, 0, nhwc ? 1 : 0, 1).build());
            return new INDArray[] {rx, rw};
        }
    }

    private static void assertClose(INDArray want, INDArray got, DataType type, String what) {
        double tol = type == DataType.FLOAT ? 2e-4 : 1e-10;
        double scale = Math.max(1, want.amaxNumber().doubleValue());
        double diff = want.castTo(DataType.DOUBLE).sub(got.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
        assertTrue(diff <= tol * scale, what + ": max difference " + diff + " against scale " + scale);
    }
}
