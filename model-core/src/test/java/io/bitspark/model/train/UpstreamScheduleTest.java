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

    @org.junit.jupiter.api.Test
    void invalidSchedulesAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new UpstreamSchedule(0.1, 10, new long[] {5, 3}, 0.1));
        assertThrows(IllegalArgumentException.class, () -> new UpstreamSchedule(0, 10, new long[] {}, 0.1));
    }
}
