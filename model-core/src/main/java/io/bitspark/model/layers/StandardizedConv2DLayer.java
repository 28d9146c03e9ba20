package io.bitspark.model.layers;

import java.util.Arrays;

import org.deeplearning4j.exception.DL4JInvalidInputException;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.BaseLayer;
import org.deeplearning4j.nn.params.ConvolutionParamInitializer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Weight-standardized convolution, NCHW or NHWC, on libnd4j's {@code conv2d} / {@code conv2d_bp} ops (oneDNN on CPU,
 * cuDNN on GPU where the backend has them). The kernel is standardized by a fused loop ({@link NativeMemory}).
 * By default the standardized kernel is kept in a buffer outside workspaces from the forward pass to backprop,
 * which reuses it and its 1/std (once per step; one extra copy of the layer's kernel). With
 * {@link StandardizedKernels#RECOMPUTE} it is written to one scratch kernel per thread, shared by every layer, and
 * standardized again in backprop: no per-layer copy, for models whose kernels are gigabytes. Backprop writes the
 * gradient with respect to the standardized kernel into the layer's gradient view and transforms it there.
 */
public class StandardizedConv2DLayer extends BaseLayer<StandardizedConv2D> {

    /** Standardized kernel of the last forward pass (outside workspaces, reused), and its 1/std per output. */
    private transient INDArray standardized;
    private transient double[] rstd;
    private transient INDArray standardizedFrom;
    private transient INDArray standardizedGrad;
    private transient boolean recompute;
    /** Inside a {@link FrozenKernels} scope: inference passes reuse the kept standardized kernel. */
    private transient boolean frozen;
    private transient boolean frozenStandardized;

    /**
     * Backprop of pointwise channels-last convolutions as matrix products ({@link #pointwiseBackward}); the system
     * property {@code bit.conv.pointwise_backward=onednn} sends them through {@code conv2d_bp} like the others (for
     * benchmarks side by side).
     */
    static final boolean POINTWISE_GEMM = !"onednn".equals(System.getProperty("bit.conv.pointwise_backward", "gemm"));

    /**
     * Backprop of 3x3 stride-1 channels-last convolutions whose output has at most this many pixels (the last stage: 7x7
     * at 224 px, 4x4 at 128) as matrix products ({@link ConvGemmBackward#backward}). There oneDNN takes a Winograd kernel
     * gradient whose per-call scratch grows with in x out channels (117 MB for R50x1, 0.99 GB for R50x3) and that costs
     * more than both products (R50x1 at 224 px, batch 8, per layer: 53-63 ms against 21-28 ms). At 14x14 and 8x8 (the
     * third stage) oneDNN's kernels are as fast or 10-20% faster and their scratch a ninth of that, so they keep
     * {@code conv2d_bp}. The system property {@code bit.conv.small_backward=onednn} sends all through {@code conv2d_bp}.
     */
    static final int SMALL_OUTPUT_PIXELS = 49;
    /**
     * The first convolution's kernel gradient alone by im2col products, channels-last (R50x1's 7x7/2 root, batch 8, in
     * the network: 6 ms against 13-16 ms at 128 px, 13-19 ms against 43-50 ms at 224). Channels-first (the narrow test
     * specs) keeps {@code conv2d_bp}, whose kernels are as fast as the im2col there. {@code bit.conv.root_backward=onednn}
     * runs {@code conv2d_bp} and discards its input gradient (for benchmarks side by side).
     */
    static final boolean ROOT_GEMM = !"onednn".equals(System.getProperty("bit.conv.root_backward", "gemm"));
    static final boolean SMALL_GEMM = !"onednn".equals(System.getProperty("bit.conv.small_backward", "gemm"));

    /** One scratch kernel per thread and data type (float, double), grown to the largest kernel it served. */
    private static final ThreadLocal<INDArray[]> SCRATCH = ThreadLocal.withInitial(() -> new INDArray[2]);

    public StandardizedConv2DLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    /** Standardize again in backprop into a per-thread scratch kernel (true) or keep this layer's copy (false). */
    public void setRecomputeStandardized(boolean recompute) {
        if (recompute != this.recompute) {
            this.recompute = recompute;
            standardized = null;
            standardizedFrom = null;
        }
    }

    public boolean recomputesStandardized() {
        return recompute;
    }

    /**
     * Enters or leaves a {@link FrozenKernels} scope: while frozen, the weights do not change, so inference passes
     * standardize the kernel once (in the first pass) and reuse it. A layer that recomputes into a scratch kernel has no
     * copy of its own to reuse and standardizes every pass as before.
     */
    void setFrozen(boolean frozen) {
        this.frozen = frozen;
        this.frozenStandardized = false;
        standardizedFrom = null;
    }

    @Override
    public Type type() {
        return Type.CONVOLUTIONAL;
    }

    @Override
    public boolean isPretrainLayer() {
        return false;
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(false);
        INDArray x = checkedInput();
        INDArray w = getParamWithNoise(ConvolutionParamInitializer.WEIGHT_KEY, training, workspaceMgr);
        long t = LayerProfiler.start();
        INDArray wHat;
        if (frozen && training) {
            throw new IllegalStateException("a training pass in " + layerId() + " while its kernels are frozen for "
                    + "inference: close the FrozenKernels scope before training");
        }
        if (frozen && frozenStandardized) {
            wHat = standardized;
        } else {
            wHat = standardize(w);
            frozenStandardized = frozen && !recompute;
        }
        t = LayerProfiler.record(LayerProfiler.Kind.WS_FORWARD, t);
        int[] out = outputSize(x);
        long[] shape = channelsLast() ? new long[] {x.size(0), out[0], out[1], w.size(0)}
                : new long[] {x.size(0), w.size(0), out[0], out[1]};
        INDArray y = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, shape, 'c');
        Nd4j.exec(convOp("conv2d").addInputs(x, wHat).addOutputs(y).build());
        LayerProfiler.record(LayerProfiler.Kind.CONV_FORWARD, t);
        return y;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(true);
        INDArray x = checkedInput();
        INDArray w = getParamWithNoise(ConvolutionParamInitializer.WEIGHT_KEY, true, workspaceMgr);
        if (epsilon.dataType() != dataType) {
            epsilon = epsilon.castTo(dataType);
        }
        // The forward pass of this step standardized these very weights: reuse it unless they changed (or it was a
        // scratch kernel). Standardizing again here counts as WS backprop time.
        long t = LayerProfiler.start();
        INDArray wHat = standardizedFrom == w && standardized != null ? standardized : standardize(w);
        t = LayerProfiler.record(LayerProfiler.Kind.WS_BACKWARD, t);
        // The network's first convolution: nothing reads the gradient of the images, so only the kernel gradient is
        // computed; DL4J's graph still hands an epsilon to the vertex before (a placeholder, never read).
        boolean inputGradient = layerConf().isInputGradient();
        INDArray dx = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, x.shape(), 'c');
        // The gradient with respect to the standardized kernel goes straight into this layer's gradient view, which
        // the WS backward pass then turns into the gradient with respect to the raw kernel in place, row by row.
        INDArray gradView = gradientViews.get(ConvolutionParamInitializer.WEIGHT_KEY);
        boolean inPlace = Arrays.equals(gradView.shape(), w.shape()) && gradView.dataType() == w.dataType()
                && NativeMemory.direct(gradView);
        INDArray dwHat = inPlace ? gradView : kernelGradientBuffer(w);
        if (!inputGradient && ROOT_GEMM && channelsLast()) {
            ConvGemmBackward.kernelGradient(x, epsilon, dwHat, shape(x, w), workspaceMgr);
        } else if (POINTWISE_GEMM && pointwiseChannelsLast()) {
            pointwiseBackward(x, wHat, epsilon, dx, dwHat);
        } else if (SMALL_GEMM && smallChannelsLast(x)) {
            ConvGemmBackward.backward(x, wHat, epsilon, dx, dwHat, shape(x, w), workspaceMgr);
        } else {
            Nd4j.exec(convOp("conv2d_bp").addInputs(x, wHat, epsilon).addOutputs(dx, dwHat).build());
        }
        t = LayerProfiler.record(LayerProfiler.Kind.CONV_BACKWARD, t);

        int rows = (int) w.size(0);
        WeightStandardizationKernels.standardizeRowsBackward(NativeMemory.mem(wHat), rstd, NativeMemory.mem(dwHat),
                NativeMemory.mem(gradView), rows, (int) (w.length() / rows));
        LayerProfiler.record(LayerProfiler.Kind.WS_BACKWARD, t);
        standardizedFrom = null;

        Gradient g = new DefaultGradient();
        g.setGradientFor(ConvolutionParamInitializer.WEIGHT_KEY, gradView, 'c');
        weightNoiseParams.clear();
        return new Pair<>(g, backpropDropOutIfPresent(dx));
    }

    /** A 3x3 stride-1 convolution over channels-last activations whose output has at most {@link #SMALL_OUTPUT_PIXELS}. */
    private boolean smallChannelsLast(INDArray x) {
        StandardizedConv2D c = layerConf();
        if (!channelsLast() || c.getKernelSize()[0] != 3 || c.getKernelSize()[1] != 3 || c.getStride()[0] != 1
                || c.getStride()[1] != 1 || c.getDilation()[0] != 1 || c.getDilation()[1] != 1
                || c.getPadding()[0] != c.getPadding()[1]) {
            return false;
        }
        int[] out = outputSize(x);
        return (long) out[0] * out[1] <= SMALL_OUTPUT_PIXELS;
    }

    private ConvGemmBackward.Shape shape(INDArray x, INDArray w) {
        StandardizedConv2D c = layerConf();
        if (c.getKernelSize()[0] != c.getKernelSize()[1] || c.getStride()[0] != c.getStride()[1]
                || c.getPadding()[0] != c.getPadding()[1] || c.getDilation()[0] != 1 || c.getDilation()[1] != 1) {
            throw new IllegalStateException(layerId() + ": the im2col backprop takes square kernels, strides and padding "
                    + "without dilation");
        }
        return ConvGemmBackward.Shape.of(x, w, c.getStride()[0], c.getPadding()[0], channelsLast());
    }

    /** A 1x1 convolution with stride 1 and no padding over channels-last activations: a matrix product per pass. */
    private boolean pointwiseChannelsLast() {
        StandardizedConv2D c = layerConf();
        return channelsLast() && c.getKernelSize()[0] == 1 && c.getKernelSize()[1] == 1 && c.getStride()[0] == 1
                && c.getStride()[1] == 1 && c.getPadding()[0] == 0 && c.getPadding()[1] == 0 && c.getDilation()[0] == 1
                && c.getDilation()[1] == 1;
    }

    /**
     * Backprop of a pointwise channels-last convolution as two matrix products on the activations as they lie, rows
     * {@code M = N*H*W} by channels: {@code dx[M, in] = dy[M, out] . w[out, in]} and {@code dw[out, in] = dy^T . x}.
     * libnd4j's {@code conv2d_bp} runs oneDNN kernels that want blocked layouts and reorders the input, the output
     * gradient and the input gradient on every call.
     */
    static void pointwiseBackward(INDArray x, INDArray wHat, INDArray epsilon, INDArray dx, INDArray dwHat) {
        long out = wHat.size(0);
        long in = wHat.size(1);
        long m = x.length() / in;
        INDArray x2 = ConvGemmBackward.contiguous(x).reshape('c', m, in);
        INDArray e2 = ConvGemmBackward.contiguous(epsilon).reshape('c', m, out);
        INDArray w2 = wHat.reshape('c', out, in);
        INDArray dx2 = dx.reshape('c', m, in);
        INDArray dw2 = dwHat.reshape('c', out, in);
        Nd4j.gemm(e2, w2, dx2, false, false, 1.0, 0.0);
        Nd4j.gemm(e2, x2, dw2, true, false, 1.0, 0.0);
    }

    /** Gradient with respect to the standardized kernel: a buffer kept outside workspaces, reused. */
    private INDArray kernelGradientBuffer(INDArray w) {
        if (standardizedGrad == null || !java.util.Arrays.equals(standardizedGrad.shape(), w.shape())
                || standardizedGrad.dataType() != w.dataType()) {
            try (MemoryWorkspace ignored = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
                standardizedGrad = Nd4j.createUninitialized(w.dataType(), w.shape(), 'c');
            }
        }
        return standardizedGrad;
    }

    /** The standardized kernel in a buffer kept outside workspaces and reused across steps. */
    private INDArray standardize(INDArray w) {
        if (recompute) {
            standardized = scratchKernel(w);
        } else if (standardized == null || !java.util.Arrays.equals(standardized.shape(), w.shape())
                || standardized.dataType() != w.dataType()) {
            try (MemoryWorkspace ignored = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
                standardized = Nd4j.createUninitialized(w.dataType(), w.shape(), 'c');
            }
        }
        int rows = (int) w.size(0);
        if (rstd == null || rstd.length != rows) {
            rstd = new double[rows];
        }
        INDArray src = NativeMemory.direct(w) ? w : w.dup('c');
        WeightStandardizationKernels.standardizeRows(NativeMemory.mem(src), NativeMemory.mem(standardized), rows,
                (int) (w.length() / rows), layerConf().getWsEpsilon(), rstd);
        // A scratch kernel is overwritten by the next layer: backprop must standardize again.
        standardizedFrom = recompute ? null : w;
        return standardized;
    }

    /** This thread's scratch kernel, viewed with {@code w}'s shape. */
    private static INDArray scratchKernel(INDArray w) {
        INDArray[] slots = SCRATCH.get();
        int slot = w.dataType() == DataType.DOUBLE ? 1 : 0;
        long n = w.length();
        if (slots[slot] == null || slots[slot].length() < n) {
            try (MemoryWorkspace ignored = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
                slots[slot] = Nd4j.createUninitialized(w.dataType(), n);
            }
        }
        INDArray flat = slots[slot].length() == n ? slots[slot]
                : slots[slot].get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, n));
        return flat.reshape('c', w.shape());
    }

    private DynamicCustomOp.DynamicCustomOpsBuilder convOp(String name) {
        StandardizedConv2D c = layerConf();
        int[] k = c.getKernelSize();
        int[] s = c.getStride();
        int[] p = c.getPadding();
        int[] d = c.getDilation();
        // iArgs: kH, kW, sH, sW, pH, pW, dH, dW, sameMode, dataFormat (0 = NCHW, 1 = NHWC), weightFormat (1 = OIHW)
        return DynamicCustomOp.builder(name).addIntegerArguments(k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1], 0,
                channelsLast() ? 1 : 0, 1);
    }

    private boolean channelsLast() {
        return layerConf().getCnn2dDataFormat() == CNN2DFormat.NHWC;
    }

    private int[] outputSize(INDArray x) {
        StandardizedConv2D c = layerConf();
        int[] out = new int[2];
        for (int i = 0; i < 2; i++) {
            long in = x.size((channelsLast() ? 1 : 2) + i);
            long eff = (long) (c.getKernelSize()[i] - 1) * c.getDilation()[i] + 1;
            long o = (in + 2L * c.getPadding()[i] - eff) / c.getStride()[i] + 1;
            if (o < 1) {
                throw new DL4JInvalidInputException("input " + Arrays.toString(x.shape()) + " too small for kernel "
                        + Arrays.toString(c.getKernelSize()) + " in " + layerId());
            }
            out[i] = (int) o;
        }
        return out;
    }

    private INDArray checkedInput() {
        INDArray x = input.castTo(dataType);
        StandardizedConv2D c = layerConf();
        if (x.rank() != 4 || x.size(channelsLast() ? 3 : 1) != c.getNIn()) {
            throw new DL4JInvalidInputException("expected input " + (channelsLast() ? "[N, H, W, " + c.getNIn() + "]"
                    : "[N, " + c.getNIn() + ", H, W]") + ", got "
                    + Arrays.toString(x.shape()) + " in " + layerId());
        }
        return x;
    }

    /** DL4J's score of this layer's regularizations, the L2 norms taken by {@link ParameterPenalty} in one pass. */
    @Override
    public double calcRegularizationScore(boolean backpropParamsOnly) {
        return ParameterPenalty.score(paramTable(), layerConf()::getRegularizationByParam, getIterationCount(), getEpochCount());
    }
}
