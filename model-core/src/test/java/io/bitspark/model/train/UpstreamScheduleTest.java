package io.bitspark.model.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class UpstreamScheduleTest {

    /** BiT-S on ILSVRC-2012: batch 4096 -> peak 0.03 * 4096 / 256 = 0.48; 5000 warmup steps; /10 at epochs 30, 60, 80 of 312 steps. */
    static final UpstreamSchedule BIT_S = new UpstreamSchedule(0.03 * 4096 / 256, 5000, new long[] {30 * 312, 60 * 312, 80 * 312}, 0.1);

    @ParameterizedTest(name = "step {0} -> {1}")
    @CsvSource({
            "0,     0.0",
            "1,     0.000096",
            "2500,  0.24",
            "4999,  0.479904",
            "5000,  0.48",
            "9359,  0.48",
            "9360,  0.048",
            "18719, 0.048",
            "18720, 0.0048",
            "24959, 0.0048",
            "24960, 0.00048",
            "99999, 0.00048",
    })
    void warmupThenStepDecays(long step, double lr) {
        assertEquals(lr, BIT_S.lr(step), 1e-12);
        assertEquals(lr, BIT_S.valueAt((int) step, 7), 1e-12, "the epoch argument is ignored: only the global step counts");
    }

    @ParameterizedTest
    @CsvSource({"0, 0.1", "3, 0.1", "4, 0.01"})
    void noWarmup(long step, double lr) {
        assertEquals(lr, new UpstreamSchedule(0.1, 0, new long[] {4}, 0.1).lr(step), 1e-12);
    }

    /** Hand-worked: peak 0.4, warmup 10, total 110: halfway through the decay (step 60) cos(pi/2) = 0 -> 0.2. */
    @ParameterizedTest(name = "cosine: step {0} -> {1}")
    @CsvSource({"0, 0.0", "5, 0.2", "10, 0.4", "35, 0.34142135623730950", "60, 0.2", "85, 0.05857864376269050", "110, 0.0", "200, 0.0"})
    void warmupThenCosine(long step, double lr) {
        UpstreamSchedule s = UpstreamSchedule.cosine(0.4, 10, 110);
        assertEquals(lr, s.lr(step), 1e-12);
        assertEquals(s, s.clone());
    }

    /** The cosine decay survives DL4J's JSON round trip of the network configuration (resume reads it back). */
    @org.junit.jupiter.api.Test
    void cosineSurvivesTheNetworkConfigurationJson() {
        UpstreamSchedule s = UpstreamSchedule.cosine(0.4, 10, 110);
        org.nd4j.linalg.factory.Nd4j.setDefaultDataTypes(org.nd4j.linalg.api.buffer.DataType.FLOAT, org.nd4j.linalg.api.buffer.DataType.FLOAT);
        org.deeplearning4j.nn.graph.ComputationGraph net = io.bitspark.model.arch.ResNetV2Builder.build(
                io.bitspark.model.arch.ResNetV2Presets.get("micro"), io.bitspark.model.arch.ModelOptions.defaults()
                        .withUpdater(new SgdMomentum(s, 0.9)).withInputSize(16, 16));
        org.deeplearning4j.nn.conf.ComputationGraphConfiguration back = org.deeplearning4j.nn.conf.ComputationGraphConfiguration.fromJson(
                net.getConfiguration().toJson());
        org.deeplearning4j.nn.conf.layers.BaseLayer head = (org.deeplearning4j.nn.conf.layers.BaseLayer)
                ((org.deeplearning4j.nn.conf.graph.LayerVertex) back.getVertices().get("head/conv2d")).getLayerConf().getLayer();
        assertEquals(s, ((SgdMomentum) head.getIUpdater()).getLearningRateSchedule());
        assertEquals(0.2, head.getIUpdater().getLearningRate(60, 0), 1e-12);
    }

    @org.junit.jupiter.api.Test
    void invalidSchedulesAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> UpstreamSchedule.cosine(0.1, 10, 10));
        assertThrows(IllegalArgumentException.class, () -> new UpstreamSchedule(0.1, 10, new long[] {5, 3}, 0.1));
        assertThrows(IllegalArgumentException.class, () -> new UpstreamSchedule(0, 10, new long[] {}, 0.1));
    }
}
