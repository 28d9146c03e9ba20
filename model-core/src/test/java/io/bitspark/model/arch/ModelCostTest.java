package io.bitspark.model.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ModelCostTest {

    /** The walk counts the parameters the builder's configuration has, for every preset (nothing allocated). */
    @ParameterizedTest
    @ValueSource(strings = {"micro", "tiny", "r50x1", "r50x3", "r101x1", "r101x3", "r152x2", "r152x4"})
    void parametersEqualTheConfiguredNetworks(String preset) {
        ResNetV2Spec spec = ResNetV2Presets.get(preset);
        assertEquals(ResNetV2Builder.parameterCount(spec), ModelCost.of(spec, 128).params());
        assertEquals(ModelCost.of(spec, 128).params(), ModelCost.of(spec, 224).params());
    }

    /**
     * R50x1 at 224 with 1000 classes: torchvision documents ResNet-50 (v1.5, stride in the 3x3 convolution as in
     * BiT) at 4.09 GFLOPS, counted as multiply-accumulates; BiT's R50x1 has the same convolutions.
     */
    @ParameterizedTest
    @ValueSource(ints = {224})
    void r50x1ForwardCostIsResNet50s(int resolution) {
        ModelCost c = ModelCost.of(ResNetV2Presets.get("r50x1").withClasses(1000), resolution);
        assertEquals(4.09e9, c.forwardMacs(), 0.01 * 4.09e9, "forward MACs " + c.forwardMacs());
        // Convolutions dominate, so doubling the side costs about four times as much.
        ModelCost big = ModelCost.of(ResNetV2Presets.get("r50x1").withClasses(1000), 2 * resolution);
        double ratio = big.forwardMacs() / (double) c.forwardMacs();
        assertTrue(ratio > 3.95 && ratio < 4.0, "448 vs 224: " + ratio);
        assertTrue(big.activationsPerImage() > 3.9 * c.activationsPerImage(), "activations grow with the area");
        // The largest single output: the root convolution's 64 x 112 x 112 padded by 1 for the pool.
        assertEquals(64L * 114 * 114, c.largestActivation());
    }
}
