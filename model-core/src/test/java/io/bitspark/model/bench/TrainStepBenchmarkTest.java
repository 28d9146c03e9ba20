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

    /**
     * The wait for the JIT compiler: a compiler that keeps working holds warm-up to its bound; one that is quiet ends it
     * after one step (no window) or once quiet steps span the window; one that is busy for three steps, after the
     * fourth; a JVM without the measurement does not wait.
     */
    @Test
    @org.junit.jupiter.api.Timeout(60)
    void jitWaitFollowsTheCompilerAndItsBound() throws Exception {
        long[] last = {-1};
        long[] clock = {0};
        // Busy: the clock advances 5 ms between the reads around each 1 ms step.
        long t0 = System.nanoTime();
        int busy = TrainStepBenchmark.untilJitQuiet(() -> sleepMillis(1), 0.3, 0.0, () -> clock[0] += 5, last);
        double s = (System.nanoTime() - t0) / 1e9;
        assertTrue(s >= 0.3 && s < 2.0 && busy > 10, busy + " steps in " + s + " s");
        // Quiet: no compilation.
        assertEquals(1, TrainStepBenchmark.untilJitQuiet(() -> sleepMillis(1), 10, 0.0, () -> 0, last));
        assertEquals(0, last[0]);
        t0 = System.nanoTime();
        int windowed = TrainStepBenchmark.untilJitQuiet(() -> sleepMillis(5), 10, 0.1, () -> 0, last);
        s = (System.nanoTime() - t0) / 1e9;
        assertTrue(windowed >= 2 && windowed <= 21 && s >= 0.1 && s < 2.0, windowed + " quiet steps in " + s + " s");
        // Busy for three steps, then quiet.
        int[] steps = {0};
        long[] compiled = {0};
        assertEquals(4, TrainStepBenchmark.untilJitQuiet(() -> {
            sleepMillis(2);
            if (++steps[0] <= 3) {
                compiled[0] += 50;
            }
        }, 10, 0.0, () -> compiled[0], last));
        assertEquals(0, TrainStepBenchmark.untilJitQuiet(() -> sleepMillis(1), 10, 0.0, () -> -1, last));
    }

    private static void sleepMillis(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Warm-up that waits for the JIT compiler ends by itself within its bound, and a negative bound is refused. */
    @Test
    void warmUpWaitsForTheJitWithinItsBound() {
        long t0 = System.nanoTime();
        TrainStepBenchmark.Result r = TrainStepBenchmark.run(new TrainStepBenchmark.Config(ResNetV2Presets.get("tiny"), 32,
                2, 1, 2, 7, null, 0.0, io.bitspark.model.layers.StandardizedKernels.AUTO, true, 1.0, 0.0));
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertTrue(r.trainImagesPerSecond() > 0 && r.forwardImagesPerSecond() > 0);
        // Two waits of at most 1 s (train, forward) plus one step each past the bound, set-up and the timed steps.
        assertTrue(seconds < 30, "took " + seconds + " s");
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> new TrainStepBenchmark.Config(
                ResNetV2Presets.get("tiny"), 32, 2, 1, 2, 7, null, 0.0, io.bitspark.model.layers.StandardizedKernels.AUTO,
                true, -1.0, 0.0));
    }

    /** Timed steps: exactly the minimum with no time bound; with one, as many more as it takes to fill it. */
    @Test
    void timedStepsFillTheirMinimumTime() {
        for (double bound : new double[] {0.0, 0.6}) {
            TrainStepBenchmark.Result r = TrainStepBenchmark.run(new TrainStepBenchmark.Config(ResNetV2Presets.get("tiny"),
                    32, 2, 1, 3, 7, null, 0.0, io.bitspark.model.layers.StandardizedKernels.AUTO, true, 0.0, bound));
            for (double[] s : new double[][] {r.trainSeconds(), r.forwardSeconds()}) {
                double sum = java.util.Arrays.stream(s).sum();
                if (bound == 0) {
                    assertTrue(s.length == 3, s.length + " steps");
                } else {
                    double withoutLast = sum - s[s.length - 1];
                    assertTrue(s.length >= 3 && sum >= bound && (s.length == 3 || withoutLast < bound),
                            s.length + " steps, " + sum + " s");
                }
            }
        }
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> new TrainStepBenchmark.Config(
                ResNetV2Presets.get("tiny"), 32, 2, 1, 2, 7, null, 0.0, io.bitspark.model.layers.StandardizedKernels.AUTO,
                true, 0.0, -1.0));
    }
}
