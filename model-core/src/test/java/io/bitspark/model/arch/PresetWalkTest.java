package io.bitspark.model.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Walks the whole preset table: every preset's configuration builds without allocating and agrees with the
 * closed-form parameter count, and every preset small enough to allocate here runs forward and backward with
 * every parameter array receiving a finite, non-zero gradient.
 */
class PresetWalkTest {

    /** Presets at or below this many parameters are allocated and trained one step (R50x1 is 25.5M). */
    private static final long ALLOCATE_UP_TO = 30_000_000L;

    static java.util.List<String> presets() {
        return ResNetV2Presets.names();
    }

    static java.util.List<String> allocatable() {
        return ResNetV2Presets.names().stream()
                .filter(n -> ResNetV2Builder.parameterCount(ResNetV2Presets.get(n)) <= ALLOCATE_UP_TO).toList();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("presets")
    void configurationBuildsAndCountsAgree(String name) {
        ResNetV2Spec spec = ResNetV2Presets.get(name);
        ComputationGraphConfiguration conf = ResNetV2Builder.configuration(spec, ModelOptions.defaults());
        long sum = ResNetV2Builder.parameterCounts(conf).values().stream().mapToLong(Long::longValue).sum();
        assertEquals(ResNetV2Builder.parameterCount(spec), sum, name);
        assertTrue(conf.getVertices().containsKey(BitLayerNames.ROOT_CONV), name);
        assertTrue(conf.getVertices().containsKey(BitLayerNames.HEAD), name);
        assertTrue(ResNetV2Presets.description(name) != null && !ResNetV2Presets.description(name).isBlank(), name);
        // A round trip through the configuration's JSON (what a checkpoint stores) gives the same graph.
        ComputationGraphConfiguration back = ComputationGraphConfiguration.fromJson(conf.toJson());
        assertEquals(ResNetV2Builder.parameterCounts(conf), ResNetV2Builder.parameterCounts(back), name);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("allocatable")
    void forwardAndBackwardReachEveryParameter(String name) {
        ResNetV2Spec spec = ResNetV2Presets.get(name);
        ComputationGraph net = ResNetV2Builder.build(spec, ModelOptions.defaults().withInputSize(32, 32).withSeed(5));
        // The head starts at zero (BiT), which stops every gradient below it: give it small random weights.
        INDArray w = net.getLayer(BitLayerNames.HEAD).getParam("W");
        Nd4j.getRandom().setSeed(9);
        w.assign(Nd4j.rand(w.dataType(), w.shape()).subi(0.5).muli(0.1));
        int n = 2;
        INDArray x = Nd4j.rand(w.dataType(), n, 3, 32, 32).muli(2).subi(1);
        INDArray y = Nd4j.zeros(n, spec.numClasses());
        for (int i = 0; i < n; i++) {
            y.putScalar(i, (i * 7) % spec.numClasses(), 1.0);
        }
        INDArray logits = net.outputSingle(false, x);
        assertEquals(java.util.List.of((long) n, (long) spec.numClasses()), java.util.List.of(logits.size(0), logits.size(1)));
        assertFalse(logits.isNaN().any() || logits.isInfinite().any(), name + ": logits not finite");

        net.setInputs(x);
        net.setLabels(y);
        net.computeGradientAndScore();
        assertTrue(Double.isFinite(net.score()) && net.score() > 0, name + ": score " + net.score());
        Gradient g = net.gradient();
        Map<String, INDArray> params = net.paramTable();
        int checked = 0;
        for (Map.Entry<String, INDArray> p : params.entrySet()) {
            INDArray grad = g.getGradientFor(p.getKey());
            assertTrue(grad != null, name + ": no gradient for " + p.getKey());
            assertFalse(grad.isNaN().any() || grad.isInfinite().any(), name + ": non-finite gradient for " + p.getKey());
            INDArray value = p.getValue();
            if (p.getKey().endsWith("standardized_conv2d_W") && value.length() / value.size(0) <= 2) {
                // Standardizing two weights gives +-1 whatever they are: such a kernel has no gradient.
                assertEquals(0.0, grad.amaxNumber().doubleValue(), name + ": " + p.getKey() + " has fan-in "
                        + value.length() / value.size(0));
            } else {
                assertTrue(grad.amaxNumber().doubleValue() > 0, name + ": zero gradient for " + p.getKey());
            }
            checked++;
        }
        assertEquals(params.size(), checked);
        assertTrue(checked > 10, name + ": " + checked + " parameter arrays");
    }
}
