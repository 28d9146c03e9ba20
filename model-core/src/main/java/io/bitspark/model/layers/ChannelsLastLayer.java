package io.bitspark.model.layers;

import org.deeplearning4j.exception.DL4JInvalidInputException;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.AbstractLayer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** {@link ChannelsLast}: NCHW -> NHWC forward, NHWC -> NCHW for the gradient. */
public class ChannelsLastLayer extends AbstractLayer<ChannelsLast> {

    public ChannelsLastLayer(NeuralNetConfiguration conf, DataType dataType) {
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
    public void clearNoiseWeightParams() {
        // no parameters
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(false);
        if (input.rank() != 4) {
            throw new DL4JInvalidInputException("expected NCHW input [N, C, H, W], got rank " + input.rank() + " in "
                    + layerId());
        }
        return workspaceMgr.dup(ArrayType.ACTIVATIONS, input.castTo(dataType).permute(0, 2, 3, 1), 'c');
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(true);
        // This layer's input is the network's images, whose gradient a ComputationGraph never hands out: the graph only
        // needs an epsilon for the input vertex, which discards it. A placeholder of undefined values, not a transpose.
        INDArray dx = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, epsilon.dataType(), input.shape(), 'c');
        return new Pair<>(new DefaultGradient(), dx);
    }

    @Override
    public double calcRegularizationScore(boolean backpropOnlyParams) {
        return 0;
    }
}
