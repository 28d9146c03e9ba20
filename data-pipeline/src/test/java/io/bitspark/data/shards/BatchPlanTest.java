package io.bitspark.data.shards;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

class BatchPlanTest {

    static final List<String> SHARDS = List.of("a", "b", "c");

    @Test
    void stepsPerEpochAreFixedAndBatchesStayInsideTheirShard() {
        // 100 / 8 = 12, 37 / 8 = 4, 8 / 8 = 1 -> 17 batches, 3 workers -> 5 steps, 2 batches dropped per epoch.
        BatchPlan p = new BatchPlan(SHARDS, new long[] {100, 37, 8}, 8, 3, 42);
        assertEquals(5, p.stepsPerEpoch());
        long[] rows = {100, 37, 8};
        for (long e = 0; e < 4; e++) {
            List<BatchPlan.Batch> batches = p.epoch(e);
            assertEquals(15, batches.size());
            Set<String> seen = new HashSet<>();
            for (BatchPlan.Batch b : batches) {
                assertEquals(8, b.count());
                assertTrue(b.from() >= 0 && b.from() + b.count() <= rows[b.shard()], b.toString());
                assertTrue(seen.add(b.shard() + ":" + b.from()), "a batch twice in one epoch: " + b);
            }
        }
    }

    @Test
    void deterministicPerSeedAndEpochAndDifferentAcrossThem() {
        BatchPlan p = new BatchPlan(SHARDS, new long[] {100, 37, 8}, 8, 3, 42);
        BatchPlan same = new BatchPlan(SHARDS, new long[] {100, 37, 8}, 8, 3, 42);
        BatchPlan other = new BatchPlan(SHARDS, new long[] {100, 37, 8}, 8, 3, 43);
        assertEquals(p.epoch(2), same.epoch(2));
        assertNotEquals(p.epoch(2), p.epoch(3));
        assertNotEquals(p.epoch(2), other.epoch(2));
        // Steps are consecutive slices of the epoch.
        assertEquals(p.epoch(1).subList(6, 9), p.step(5 + 2));
        assertEquals(p.epoch(0).subList(0, 3), p.step(0));
    }

    @Test
    void tooLittleDataForOneStepIsAClearError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new BatchPlan(List.of("a"), new long[] {10}, 8, 2, 0));
        assertTrue(e.getMessage().contains("no full step"), e.getMessage());
    }
}
