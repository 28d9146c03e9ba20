package io.bitspark.model.train;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

import io.bitspark.model.arch.ModelOptions;
import io.bitspark.model.arch.ResNetV2Builder;
import io.bitspark.model.arch.ResNetV2Presets;
import io.bitspark.model.layers.GradientChecks;

/** Networks the optimizer tests share. */
final class TestNets {

    private TestNets() {}

    /** The micro spec at 16 px with SGD momentum (lr 0.2, 0.9), the given L2 and fixed random parameters. */
    static ComputationGraph micro(double weightDecay) {
        return GradientChecks.floatNet("micro", 16, null, 0.2, weightDecay, 4, 0.3);
    }
}
