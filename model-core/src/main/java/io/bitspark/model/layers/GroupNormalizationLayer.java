package io.bitspark.model.layers;

import java.util.Arrays;

import org.deeplearning4j.exception.DL4JInvalidInputException;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.BaseLayer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.factory.Nd4j;

/**
 * GroupNorm (+ optional ReLU) forward and exact backward over NCHW or NHWC activations, as fused loops
 * ({@link NativeMemory}). The forward pass keeps its per-(example, group) mean and 1/std (a few numbers) for
 * the backward pass, which re-derives normalized values and the ReLU mask from the stored input.
 */
public class GroupNormalizationLayer extends BaseLayer<GroupNormalization> {

    /** Statistics of the last forward pass, per (example, group), and the input they belong to. */
    private transient double[] mean;
    private transient double[] rstd;
    private transient INDArray cachedFor;

    public GroupNormalizationLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    @Override
    public Type type() {
        return Type.NORMALIZATION;
    }

    @Override
    public boolean isPretrainLayer() {
        return false;
    }

    @Override
    public boolean hasBias() {
        return false;
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(false);
        INDArray x = checkedInput();
        INDArray y = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, x.shape(), 'c');
        forward(x, y);
        return y;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(true);
        INDArray x = checkedInput();
        if (cachedFor != input || mean == null) {
            // Statistics of this input were not kept by a forward pass: recompute them.
            forward(x, Nd4j.createUninitialized(dataType, x.shape(), 'c'));
        }
        long t = LayerProfiler.start();
        INDArray dy = epsilon.castTo(dataType);
        if (!NativeMemory.direct(dy)) {
            dy = dy.dup('c');
        }
        INDArray dx = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, x.shape(), 'c');
        INDArray dGamma = gradientViews.get(GroupNormParamInitializer.GAMMA);
        INDArray dBeta = gradientViews.get(GroupNormParamInitializer.BETA);
        NativeMemory.Mem gamma = NativeMemory.mem(getParam(GroupNormParamInitializer.GAMMA));
        NativeMemory.Mem beta = NativeMemory.mem(getParam(GroupNormParamInitializer.BETA));
        int n = (int) x.size(0);
        int c = (int) layerConf().getNOut();
        int hw = (int) (x.length() / ((long) n * c));
        GroupNormKernels.Shape shape = new GroupNormKernels.Shape(n, c, hw, layerConf().getGroups());
        if (channelsLast()) {
            GroupNormKernels.groupNormBackwardNhwc(NativeMemory.mem(x), NativeMemory.mem(dy), gamma, beta,
                    shape, relu(), mean, rstd, NativeMemory.mem(dx), NativeMemory.mem(dGamma), NativeMemory.mem(dBeta));
        } else {
            GroupNormKernels.groupNormBackward(NativeMemory.mem(x), NativeMemory.mem(dy), gamma, beta,
                    shape, relu(), mean, rstd, NativeMemory.mem(dx), NativeMemory.mem(dGamma), NativeMemory.mem(dBeta));
        }
        LayerProfiler.record(LayerProfiler.Kind.GN_BACKWARD, t);
        cachedFor = null;
        Gradient g = new DefaultGradient();
        g.setGradientFor(GroupNormParamInitializer.GAMMA, dGamma);
        g.setGradientFor(GroupNormParamInitializer.BETA, dBeta);
        return new Pair<>(g, dx);
    }

    /** y = act(GroupNorm(x)); keeps the per-(example, group) statistics for the backward pass. */
    private void forward(INDArray x, INDArray y) {
        int n = (int) x.size(0);
        int groups = layerConf().getGroups();
        if (mean == null || mean.length != n * groups) {
            mean = new double[n * groups];
            rstd = new double[n * groups];
        }
        long t = LayerProfiler.start();
        NativeMemory.Mem gamma = NativeMemory.mem(getParam(GroupNormParamInitializer.GAMMA));
        NativeMemory.Mem beta = NativeMemory.mem(getParam(GroupNormParamInitializer.BETA));
        int c = (int) layerConf().getNOut();
        int hw = (int) (x.length() / ((long) n * c));
        GroupNormKernels.Shape shape = new GroupNormKernels.Shape(n, c, hw, groups);
        if (channelsLast()) {
            GroupNormKernels.groupNormForwardNhwc(NativeMemory.mem(x), NativeMemory.mem(y), gamma, beta, shape,
                    layerConf().getEpsilon(), relu(), mean, rstd);
        } else {
            GroupNormKernels.groupNormForward(NativeMemory.mem(x), NativeMemory.mem(y), gamma, beta, shape,
                    layerConf().getEpsilon(), relu(), mean, rstd);
        }
        LayerProfiler.record(LayerProfiler.Kind.GN_FORWARD, t);
        cachedFor = input;
    }

    private boolean channelsLast() {
        return layerConf().getDataFormat() == CNN2DFormat.NHWC;
    }

    private boolean relu() {
        IActivation a = layerConf().getActivationFn();
        if (a instanceof ActivationReLU) {
            return true;
        }
        if (a instanceof ActivationIdentity) {
            return false;
        }
        throw new IllegalStateException("GroupNormalization supports identity or ReLU, got " + a);
    }

    private INDArray checkedInput() {
        INDArray x = input.castTo(dataType);
        long c = layerConf().getNOut();
        if (x.rank() != 4 || x.size(channelsLast() ? 3 : 1) != c) {
            throw new DL4JInvalidInputException("expected input " + (channelsLast() ? "[N, H, W, " + c + "]" : "[N, " + c + ", H, W]") + ", got "
                    + Arrays.toString(x.shape()) + " in " + layerId());
        }
        return NativeMemory.direct(x) ? x : x.dup('c');
    }

    /** DL4J's score of this layer's regularizations, the L2 norms taken by {@link ParameterPenalty} in one pass. */
    @Override
    public double calcRegularizationScore(boolean backpropParamsOnly) {
        return ParameterPenalty.score(paramTable(), layerConf()::getRegularizationByParam, getIterationCount(), getEpochCount());
    }
}
