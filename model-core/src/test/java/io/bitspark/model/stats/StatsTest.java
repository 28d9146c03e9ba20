package io.bitspark.model.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

class StatsTest {

    @Test
    void medianOfOddAndEvenCountsLeavesTheInputAlone() {
        double[] v = {5, 1, 3};
        assertEquals(3, Stats.median(v));
        assertArrayEquals(new double[] {5, 1, 3}, v);
        assertEquals(2.5, Stats.median(4, 1, 3, 2));
        assertEquals(7, Stats.median(7));
        assertEquals(1.5, Stats.median(List.of(2, 1)));
        assertTrue(Double.isNaN(Stats.median()));
    }
}
