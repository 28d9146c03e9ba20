package io.bitspark.model.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import io.bitspark.model.arch.ResNetV2Presets;
import io.bitspark.model.layers.LayerProfiler.Kind;

/** The benchmark's breakdown accounts for the measured time: parts are positive and sum to the whole. */
class TrainStepBenchmarkTest {

    @Test
    void breakdownAddsUpToTheMeasuredSteps() {
        TrainStepBenchmark.Result r = TrainStepBenchmark.run(
                new TrainStepBenchmark.Config(ResNetV2Presets.get("tiny"), 32, 2, 1, 3, 7, null, 0.5));
        double trainMean = java.util.Arrays.stream(r.trainSeconds()).average().orElseThrow();
        TrainStepBenchmark.Breakdown t = r.train();
        double phases = t.phases().get("forward") + t.phases().get("backward") + t.phases().get("update");
        // Phases are measured inside fit(): together they are the step, less fit's own set-up.
        assertTrue(phases <= trainMean * 1.001 && phases > 0.7 * trainMean, phases + " vs step " + trainMean);
        for (Kind k : Kind.values()) {
            assertTrue(t.layers().get(k) > 0, k + " was not timed in a train step");
        }
        assertTrue(t.forwardOther() >= 0 && t.backwardOther() >= 0, "layer time exceeds its phase: " + t);

        TrainStepBenchmark.Breakdown f = r.forward();
        assertEquals(0.0, f.layers().get(Kind.CONV_BACKWARD), "no backward in inference");
        assertEquals(0.0, f.layers().get(Kind.GN_BACKWARD), "no backward in inference");
        assertTrue(f.layers().get(Kind.CONV_FORWARD) > 0 && f.forwardOther() >= 0, f.toString());
        assertTrue(r.trainImagesPerSecond() > 0 && r.forwardImagesPerSecond() > r.trainImagesPerSecond());
        assertTrue(r.peakRssBytes() > 0);
    }
}
