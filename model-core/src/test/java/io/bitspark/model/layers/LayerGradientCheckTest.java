package io.bitspark.model.layers;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
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

    private static ComputationGraph single(Layer layer, int channels, int size) {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder()
                .dataType(DataType.DOUBLE)
                .updater(new NoOp())
                .seed(1)
                .graphBuilder()
                .addInputs("in")
                .setInputTypes(InputType.convolutional(size, size, channels))
                // A built-in convolution in front, so that the layer's input gradient is checked through
                // its parameters (the checker only perturbs parameters).
                .addLayer("front", new ConvolutionLayer.Builder(1, 1).nOut(channels)
                        .activation(Activation.IDENTITY).build(), "in")
                .addLayer("layer", layer, "front")
                .addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "layer")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
                        .activation(Activation.SOFTMAX).nOut(3).build(), "pool")
                .setOutputs("out")
                .build();
        ComputationGraph net = new ComputationGraph(conf);
        net.init();
        return net;
    }

    @ParameterizedTest(name = "StdConv {0}x{0} stride {1} pad {2}, {3} in -> {4} out")
    @CsvSource({
            "1, 1, 0, 4, 6",
            "3, 1, 1, 4, 5",
            "3, 2, 1, 3, 4",
            "7, 2, 3, 3, 4",
    })
    void standardizedConvolution(int kernel, int stride, int pad, int cin, int cout) {
        ComputationGraph net = single(new StandardizedConv2D.Builder(kernel, stride, pad).nOut(cout).build(), cin, 9);
        GradientChecks.randomizeParams(net, 11, 0.5);
        assertTrue(GradientChecks.check(net, GradientChecks.gaussian(12, 2, cin, 9, 9), GradientChecks.oneHot(13, 2, 3)));
    }

    @ParameterizedTest(name = "GroupNorm {0} channels, {1} groups, relu={2}")
    @CsvSource({
            "8, 4, false",
            "8, 2, true",
            "6, 1, false",
            "6, 6, true",
    })
    void groupNorm(int channels, int groups, boolean relu) {
        ComputationGraph net = single(new GroupNormalization.Builder().groups(groups).relu(relu).build(), channels, 5);
        GradientChecks.randomizeParams(net, 21, 0.8);
        assertTrue(GradientChecks.check(net, GradientChecks.gaussian(22, 3, channels, 5, 5), GradientChecks.oneHot(23, 3, 3)));
    }
}
