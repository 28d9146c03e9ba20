package io.bitspark.model.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class HeadBiasInitTest {

    /** big_vision's sigmoid recipe: the head starts with zero kernel and bias -10, so every class starts at sigmoid(-10). */
    @Test
    void theHeadBiasStartsWhereConfigured() {
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        ComputationGraph net = ResNetV2Builder.build(ResNetV2Presets.get("micro"), ModelOptions.defaults()
                .withLoss(LossKind.SIGMOID_CROSS_ENTROPY).withHeadBiasInit(-10).withInputSize(16, 16));
        INDArray b = net.getParam("head/conv2d_b");
        assertEquals(-10.0, b.minNumber().doubleValue(), 0.0);
        assertEquals(-10.0, b.maxNumber().doubleValue(), 0.0);
        INDArray p = net.output(Nd4j.rand(DataType.FLOAT, 2, 3, 16, 16))[0];
        assertEquals(1 / (1 + Math.exp(10)), p.maxNumber().doubleValue(), 1e-9, "sigmoid(-10) for every class");
        assertEquals(0.0, ResNetV2Builder.build(ResNetV2Presets.get("micro"), ModelOptions.defaults().withInputSize(16, 16))
                .getParam("head/conv2d_b").amaxNumber().doubleValue(), 0.0, "0 by default");
    }
}
