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
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Weight-standardized convolution on libnd4j's {@code conv2d} / {@code conv2d_bp} ops (oneDNN on CPU,
 * cuDNN on GPU where the backend has them). The standardized kernel is recomputed in backprop rather than
 * cached, which costs one pass over the kernel and keeps no state between forward and backward.
 */
public class StandardizedConv2DLayer extends BaseLayer<StandardizedConv2D> {

    public StandardizedConv2DLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
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
        NormalizationMath.Standardized ws = standardize(w);
        int[] out = outputSize(x);
        INDArray y = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, dataType,
                new long[] {x.size(0), w.size(0), out[0], out[1]}, 'c');
        Nd4j.exec(convOp("conv2d").addInputs(x, ws.normalized().reshape(w.shape())).addOutputs(y).build());
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
        NormalizationMath.Standardized ws = standardize(w);
        INDArray dx = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, x.shape(), 'c');
        INDArray dwHat = Nd4j.createUninitialized(dataType, w.shape(), 'c');
        Nd4j.exec(convOp("conv2d_bp").addInputs(x, ws.normalized().reshape(w.shape()), epsilon)
                .addOutputs(dx, dwHat).build());

        INDArray gradView = gradientViews.get(ConvolutionParamInitializer.WEIGHT_KEY);
        INDArray grad2d = gradView.reshape('c', w.size(0), w.length() / w.size(0));
        NormalizationMath.standardizeBackward(ws.normalized(), ws.rstd(),
                dwHat.reshape('c', grad2d.shape()), grad2d);

        Gradient g = new DefaultGradient();
        g.setGradientFor(ConvolutionParamInitializer.WEIGHT_KEY, gradView, 'c');
        weightNoiseParams.clear();
        return new Pair<>(g, backpropDropOutIfPresent(dx));
    }

    private NormalizationMath.Standardized standardize(INDArray w) {
        INDArray w2 = w.reshape('c', w.size(0), w.length() / w.size(0));
        return NormalizationMath.standardize(w2, layerConf().getWsEpsilon());
    }

    private DynamicCustomOp.DynamicCustomOpsBuilder convOp(String name) {
        StandardizedConv2D c = layerConf();
        int[] k = c.getKernelSize();
        int[] s = c.getStride();
        int[] p = c.getPadding();
        int[] d = c.getDilation();
        // iArgs: kH, kW, sH, sW, pH, pW, dH, dW, sameMode, dataFormat (0 = NCHW), weightFormat (1 = OIHW)
        return DynamicCustomOp.builder(name).addIntegerArguments(k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1], 0, 0, 1);
    }

    private int[] outputSize(INDArray x) {
        StandardizedConv2D c = layerConf();
        int[] out = new int[2];
        for (int i = 0; i < 2; i++) {
            long in = x.size(2 + i);
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
        if (c.getCnn2dDataFormat() != CNN2DFormat.NCHW) {
            throw new IllegalStateException("only NCHW is supported, got " + c.getCnn2dDataFormat() + " in " + layerId());
        }
        if (x.rank() != 4 || x.size(1) != c.getNIn()) {
            throw new DL4JInvalidInputException("expected input [N, " + c.getNIn() + ", H, W], got "
                    + Arrays.toString(x.shape()) + " in " + layerId());
        }
        return x;
    }
}
