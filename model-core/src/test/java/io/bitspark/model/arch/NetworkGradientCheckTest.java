package io.bitspark.model.arch;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import io.bitspark.model.layers.GradientChecks;

/**
 * Finite-difference check of a whole ResNet-v2: root block (StdConv 7x7/2, zero pad, max pool), a stage
 * with a stride-1 projection unit and an identity unit, a stage with a stride-2 projection unit, final
 * GroupNorm, global pool and head, under both losses.
 */
class NetworkGradientCheckTest {

    @BeforeAll
    static void doublePrecision() {
        GradientChecks.useDouble();
    }

    @ParameterizedTest
    @EnumSource(LossKind.class)
    void wholeNetwork(LossKind loss) {
        // Channels-last, as BiT's widths run (input transpose, NHWC kernels, pooling and padding).
        check(loss, CNN2DFormat.NHWC);
    }

    /** Channels-first, as the narrow specs run. */
    @Test
    void wholeNetworkChannelsFirst() {
        check(LossKind.SOFTMAX_CROSS_ENTROPY, CNN2DFormat.NCHW);
    }

    private static void check(LossKind loss, CNN2DFormat layout) {
        ResNetV2Spec spec = ResNetV2Presets.get("micro");
        ComputationGraph net = ResNetV2Builder.build(spec, ModelOptions.defaults()
                .withDataType(DataType.DOUBLE).withLoss(loss).withInputSize(16, 16).withSeed(3).withLayout(layout));
        // The head starts at zero, which would make every other gradient zero: randomise everything.
        GradientChecks.randomizeParams(net, 31, 0.5);
        INDArray x = GradientChecks.gaussian(32, 2, 3, 16, 16);
        INDArray y = loss == LossKind.SOFTMAX_CROSS_ENTROPY
                ? GradientChecks.oneHot(33, 2, spec.numClasses())
                : GradientChecks.kHot(33, 2, spec.numClasses());
        assertTrue(GradientChecks.check(net, x, y));
    }
}
