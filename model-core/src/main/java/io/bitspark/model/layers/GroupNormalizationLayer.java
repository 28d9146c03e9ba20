package io.bitspark.model.layers;

import java.util.Arrays;

import org.deeplearning4j.exception.DL4JInvalidInputException;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.BaseLayer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Broadcast;

/**
 * GroupNorm (+ optional ReLU) forward and exact backward over NCHW activations. Backprop re-derives the
 * group statistics from the stored input instead of caching them, so nothing crosses the forward/backward
 * boundary except the input that DL4J keeps anyway.
 */
public class GroupNormalizationLayer extends BaseLayer<GroupNormalization> {

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
        NormalizationMath.Standardized s = normalize(x);
        INDArray y = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, x.shape(), 'c');
        affine(s.normalized(), y);
        return layerConf().getActivationFn().getActivation(y, training);
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(true);
        INDArray x = checkedInput();
        long n = x.size(0);
        long c = x.size(1);
        long hw = x.size(2) * x.size(3);
        NormalizationMath.Standardized s = normalize(x);

        // dL/d(pre-activation); the activation's backprop consumes its input buffer.
        INDArray preAct = x.ulike();
        affine(s.normalized(), preAct);
        INDArray delta = layerConf().getActivationFn()
                .backprop(preAct, epsilon.castTo(dataType).dup('c')).getFirst();

        INDArray delta3 = delta.reshape('c', n, c, hw);
        INDArray xhat3 = s.normalized().reshape('c', n, c, hw);
        INDArray dGamma = gradientViews.get(GroupNormParamInitializer.GAMMA);
        INDArray dBeta = gradientViews.get(GroupNormParamInitializer.BETA);
        delta3.mul(xhat3).sum(dGamma, 0, 2);
        delta3.sum(dBeta, 0, 2);

        // dL/dxhat = delta * gamma, then through the standardization per (example, group).
        INDArray dxhat = delta3.ulike();
        Broadcast.mul(delta3, getParam(GroupNormParamInitializer.GAMMA), dxhat, 1);
        INDArray dx = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, x.shape(), 'c');
        int groups = layerConf().getGroups();
        INDArray dxGrouped = dx.reshape('c', n, groups, c / groups * hw);
        NormalizationMath.standardizeBackward(s.normalized(), s.rstd(),
                dxhat.reshape('c', n, groups, c / groups * hw), dxGrouped);

        Gradient g = new DefaultGradient();
        g.setGradientFor(GroupNormParamInitializer.GAMMA, dGamma);
        g.setGradientFor(GroupNormParamInitializer.BETA, dBeta);
        return new Pair<>(g, dx);
    }

    /** Standardizes per (example, group); the result's normalized array is [N, G, C/G*H*W]. */
    private NormalizationMath.Standardized normalize(INDArray x) {
        int groups = layerConf().getGroups();
        long n = x.size(0);
        INDArray grouped = x.reshape('c', n, groups, x.length() / (n * groups));
        return NormalizationMath.standardize(grouped, layerConf().getEpsilon());
    }

    /** out = gamma * xhat + beta per channel; {@code out} has the input's NCHW shape. */
    private void affine(INDArray xhatGrouped, INDArray out) {
        long n = out.size(0);
        long c = out.size(1);
        long hw = out.size(2) * out.size(3);
        INDArray xhat3 = xhatGrouped.reshape('c', n, c, hw);
        INDArray out3 = out.reshape('c', n, c, hw);
        Broadcast.mul(xhat3, getParam(GroupNormParamInitializer.GAMMA), out3, 1);
        Broadcast.add(out3, getParam(GroupNormParamInitializer.BETA), out3, 1);
    }

    private INDArray checkedInput() {
        INDArray x = input.castTo(dataType);
        long c = layerConf().getNOut();
        if (x.rank() != 4 || x.size(1) != c) {
            throw new DL4JInvalidInputException("expected input [N, " + c + ", H, W], got "
                    + Arrays.toString(x.shape()) + " in " + layerId());
        }
        return x.isView() || x.ordering() != 'c' ? x.dup('c') : x;
    }
}
