package io.bitspark.jobs.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import io.bitspark.model.arch.ModelCost;
import io.bitspark.model.arch.ResNetV2Presets;

class PlannerTest {

    private static Planner.Question q(String preset, int executors, String device, double gbps, int batch, int micro, int k) {
        return new Planner.Question(preset, 21843, 224, 14_000_000, 90, executors, Devices.get(device), gbps, batch, micro, k);
    }

    @Test
    void oneR50x1OnItsReferenceDeviceTrainsAtThePublishedRate() {
        // One executor, no exchange: compute alone is the published images/s (ImageNet-1k head, as measured).
        Planner.Plan p = Planner.plan(new Planner.Question("r50x1", 1000, 224, 1_281_167, 90, 1, Devices.get("a100"), 100, 256, 0, 1),
                Planner.Constants.MEASURED);
        assertEquals(0, p.exchangeSeconds());
        assertEquals(0, p.bytesPerExecutorPerStep());
        assertEquals(938.0, 256 / p.computeSeconds(), 1e-6);
        assertEquals("compute", p.bottleneck());
    }

    @Test
    void trafficIsTheEnginesAndShrinksWithTheAveragingFrequency() {
        long params = ModelCost.of(ResNetV2Presets.get("r152x4").withClasses(21843), 224).params();
        Planner.Plan p = Planner.plan(q("r152x4", 64, "a100", 100, 4096, 0, 1), Planner.Constants.MEASURED);
        assertEquals(Math.round(2.0 * 63 / 64 * 4 * params), p.bytesPerExecutorPerStep());
        assertEquals(p.bytesPerExecutorPerStep() * 8 / 100e9, p.exchangeSeconds(), 1e-9);
        Planner.Plan k4 = Planner.plan(q("r152x4", 64, "a100", 100, 4096, 0, 4), Planner.Constants.MEASURED);
        assertEquals(p.exchangeSeconds() / 4, k4.exchangeSeconds(), 1e-9);
        // A slow link on many executors: the exchange dominates.
        Planner.Plan slow = Planner.plan(q("r152x4", 256, "a100", 10, 4096, 0, 1), Planner.Constants.MEASURED);
        assertEquals("exchange (the link)", slow.bottleneck());
    }

    @Test
    void memoryNamesAMicroBatchThatFits() {
        Planner.Question whole = q("r152x4", 64, "a100", 100, 4096, 0, 1);
        Planner.Plan p = Planner.plan(whole, Planner.Constants.MEASURED);
        assertTrue(!p.fits() && !p.kernelsKept(), "64 images of R152x4 at 224 on 80 GiB: " + p.memoryBytes());
        int m = Planner.largestFittingMicroBatch(whole, Planner.Constants.MEASURED);
        assertTrue(m >= 1 && m < 64, "micro-batch " + m);
        assertTrue(Planner.plan(q("r152x4", 64, "a100", 100, 4096, m, 1), Planner.Constants.MEASURED).fits());
        assertTrue(!Planner.plan(q("r152x4", 64, "a100", 100, 4096, 2 * m, 1), Planner.Constants.MEASURED).fits());
    }

    @Test
    void badQuestionsAreNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Planner.plan(q("r50x1", 3, "a100", 100, 4096, 0, 1), Planner.Constants.MEASURED));
        assertTrue(e.getMessage().contains("4096") && e.getMessage().contains("(3)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Devices.get("h100"));
        assertTrue(e.getMessage().contains("no published figure for device 'h100'") && e.getMessage().contains("--device-images-per-sec"),
                e.getMessage());
    }

    @Test
    void loadingAddsOnComputeCoresOverlapsOnLoaderCoresAndRoundsCarryScheduling() {
        Planner.Question base = new Planner.Question("r50x1", 1000, 224, 1_281_167, 90, 8, Devices.get("a100"), 100, 256, 0, 1);
        Planner.Plan none = Planner.plan(base, Planner.Constants.MEASURED);
        assertEquals(0, none.dataSeconds());
        // 32 images per executor at 5 ms each: 0.16 s on the compute cores, 0.02 s on 8 loader cores.
        Planner.Plan serial = Planner.plan(base.withData(0.005, 0), Planner.Constants.MEASURED);
        assertEquals(0.16, serial.dataSeconds(), 1e-9);
        assertEquals(none.stepSeconds() + 0.16, serial.stepSeconds(), 1e-9);
        Planner.Plan overlapped = Planner.plan(base.withData(0.005, 8), Planner.Constants.MEASURED);
        assertEquals(0.02, overlapped.dataSeconds(), 1e-9);
        assertEquals(none.stepSeconds(), overlapped.stepSeconds(), 1e-9, "hidden behind 0.27 s of compute");
        Planner.Plan starved = Planner.plan(base.withData(0.05, 1), Planner.Constants.MEASURED);
        assertEquals(1.6, starved.computeAndDataSeconds(), 1e-9);
        assertTrue(starved.bottleneck().startsWith("data loading"), starved.bottleneck());
        // Scheduling: (0.14 + 0.02 x 8) s per round, spread over the round's steps.
        assertEquals(0.30 / 10, none.schedulingSeconds(), 1e-9);
        assertEquals(0.30 / 100, Planner.plan(base.withRoundSteps(100), Planner.Constants.MEASURED).schedulingSeconds(), 1e-9);
    }

    @Test
    void aBenchedDeviceReproducesItsTwoPoints() {
        // bit bench steps of 0.30 s at batch 6 and 0.75 s at 24, 0.05 s of them the bench's own update.
        Devices d = Devices.fromBench("bench", "r50x1", 6, 64, 6, 0.30, 24, 0.75, 0.05, 0);
        long params = ModelCost.of(ResNetV2Presets.get("r50x1").withClasses(6), 64).params();
        assertEquals(0.05 / params, d.updateSecondsPerParam(), 1e-18);
        for (int[] point : new int[][] {{6, 30}, {24, 75}}) {
            Planner.Plan p = Planner.plan(new Planner.Question("r50x1", 6, 64, 1000, 1, 1, d, 10, point[0], 0, 1), Planner.Constants.MEASURED);
            assertEquals(point[1] / 100.0 - 0.05, p.computeSeconds(), 1e-9, "compute at batch " + point[0]);
            assertEquals(0.05, p.updateSeconds(), 1e-9);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Devices.fromBench("bench", "r50x1", 6, 64, 6, 0.75, 24, 0.30, 0.05, 0));
        assertTrue(e.getMessage().contains("do not grow with the batch"), e.getMessage());
    }
}
