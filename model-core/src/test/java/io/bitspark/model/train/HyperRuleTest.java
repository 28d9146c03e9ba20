package io.bitspark.model.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HyperRuleTest {

    @ParameterizedTest(name = "{0} examples -> {1} steps, mixup {2}")
    @CsvSource({
            "1,       500,   0.0",
            "19999,   500,   0.0",
            "20000,   10000, 0.1",
            "499999,  10000, 0.1",
            "500000,  20000, 0.1",
            "14000000, 20000, 0.1",
    })
    void stepsAndMixupBySize(long size, long steps, double alpha) {
        assertEquals(steps, HyperRule.steps(size));
        assertEquals(alpha, HyperRule.mixupAlpha(size), 0.0);
    }

    @ParameterizedTest(name = "{0}x{1} -> {2}/{3}")
    @CsvSource({
            "28,  28,  160, 128",
            "95,  96,  160, 128",
            "96,  96,  512, 480",
            "48,  192, 512, 480",
            "500, 375, 512, 480",
    })
    void resolutionByArea(int w, int h, int resize, int crop) {
        assertEquals(new HyperRule.Resolution(resize, crop), HyperRule.resolution(w, h));
    }

    @ParameterizedTest(name = "small set, step {0} -> {1}")
    @CsvSource({
            "0,   0.0",
            "50,  0.0015",
            "99,  0.00297",
            "100, 0.003",
            "200, 0.003",
            "201, 0.0003",
            "300, 0.0003",
            "301, 0.00003",
            "401, 0.000003",
            "499, 0.000003",
    })
    void smallSetSchedule(long step, double lr) {
        long[] s = HyperRule.supports(1000);
        assertArrayEquals(new long[] {100, 200, 300, 400, 500}, s);
        assertEquals(lr, HyperRule.lr(step, s, HyperRule.BASE_LR), 1e-15);
        assertEquals(lr, new HyperRule.Schedule(s, HyperRule.BASE_LR).valueAt((int) step, 0), 1e-15);
    }

    @ParameterizedTest(name = "medium and large supports")
    @CsvSource({"20000", "499999"})
    void mediumSupports(long size) {
        assertArrayEquals(new long[] {500, 3000, 6000, 9000, 10000}, HyperRule.supports(size));
    }

    @ParameterizedTest(name = "large supports")
    @CsvSource({"500000"})
    void largeSupports(long size) {
        assertArrayEquals(new long[] {500, 6000, 12000, 18000, 20000}, HyperRule.supports(size));
        assertEquals(0.003 / 1000, HyperRule.lr(19999, HyperRule.supports(size), HyperRule.BASE_LR), 1e-15);
    }
}
