package io.bitspark.model.layers;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * Finite-difference checks of each custom layer alone: a built-in 1x1 convolution, the layer, global average
 * pooling and a softmax head.
 */
class LayerGradientCheckTest {

    @BeforeAll
    static void doublePrecision() {
        GradientChecks.useDouble();
    }

    private static ComputationGraph single(Layer layer, int channels, int size, CNN2DFormat layout) {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder()
                .dataType(DataType.DOUBLE)
                .updater(new NoOp())
                .seed(1)
                .graphBuilder()
                .addInputs("in")
                .setInputTypes(InputType.convolutional(size, size, channels, layout))
                // A built-in convolution in front, so that the layer's input gradient is checked through
                // its parameters (the checker only perturbs parameters).
                .addLayer("front", new ConvolutionLayer.Builder(1, 1).nOut(channels)
                        .activation(Activation.IDENTITY).build(), "in")
                .addLayer("layer", layer, "front")
                .addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG)
                        .poolingDimensions(layout == CNN2DFormat.NHWC ? new int[] {1, 2} : new int[] {2, 3}).build(), "layer")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
                        .activation(Activation.SOFTMAX).nOut(3).build(), "pool")
                .setOutputs("out")
                .build();
        ComputationGraph net = new ComputationGraph(conf);
        net.init();
        return net;
    }

    private static INDArray input(long seed, int n, int channels, int size, CNN2DFormat layout) {
        return layout == CNN2DFormat.NHWC ? GradientChecks.gaussian(seed, n, size, size, channels)
                : GradientChecks.gaussian(seed, n, channels, size, size);
    }

    @ParameterizedTest(name = "StdConv {0}x{0} stride {1} pad {2}, {3} in -> {4} out, {5}")
    @CsvSource({
            "1, 1, 0, 4, 6, NCHW",
            "3, 1, 1, 4, 5, NCHW",
            "3, 2, 1, 3, 4, NCHW",
            "7, 2, 3, 3, 4, NCHW",
            "1, 1, 0, 4, 6, NHWC",
            "3, 2, 1, 3, 4, NHWC",
            "7, 2, 3, 3, 4, NHWC",
    })
    void standardizedConvolution(int kernel, int stride, int pad, int cin, int cout, CNN2DFormat layout) {
        ComputationGraph net = single(new StandardizedConv2D.Builder(kernel, stride, pad).nOut(cout).build(), cin, 9, layout);
        GradientChecks.randomizeParams(net, 11, 0.5);
        assertTrue(GradientChecks.check(net, input(12, 2, cin, 9, layout), GradientChecks.oneHot(13, 2, 3)));
    }

    @ParameterizedTest(name = "GroupNorm {0} channels, {1} groups, relu={2}, {3}")
    @CsvSource({
            "8, 4, false, NCHW",
            "8, 2, true, NCHW",
            "6, 1, false, NCHW",
            "6, 6, true, NCHW",
            "8, 4, false, NHWC",
            "8, 2, true, NHWC",
            "6, 6, true, NHWC",
    })
    void groupNorm(int channels, int groups, boolean relu, CNN2DFormat layout) {
        ComputationGraph net = single(new GroupNormalization.Builder().groups(groups).relu(relu).build(), channels, 5, layout);
        GradientChecks.randomizeParams(net, 21, 0.8);
        assertTrue(GradientChecks.check(net, input(22, 3, channels, 5, layout), GradientChecks.oneHot(23, 3, 3)));
    }
}
