package io.bitspark.data.shards;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

class BatchPlanTest {

    static final List<String> SHARDS = List.of("a", "b", "c");
    static final long[] ROWS = {100, 37, 8};

    @Test
    void stepsPerEpochAreFixedAndPiecesStayInsideTheirShard() {
        // Pieces of 8: 100 / 8 = 12, 37 / 8 = 4, 8 / 8 = 1 -> 17 pieces; a global batch of 24 takes 3 -> 5 steps.
        BatchPlan p = new BatchPlan(SHARDS, ROWS, 24, 8, 42);
        assertEquals(5, p.stepsPerEpoch());
        for (long e = 0; e < 4; e++) {
            List<BatchPlan.Piece> pieces = p.epoch(e);
            assertEquals(15, pieces.size());
            Set<String> seen = new HashSet<>();
            for (BatchPlan.Piece b : pieces) {
                assertEquals(8, b.count());
                assertTrue(b.from() >= 0 && b.from() + b.count() <= ROWS[b.shard()], b.toString());
                assertTrue(seen.add(b.shard() + ":" + b.from()), "a piece twice in one epoch: " + b);
            }
        }
    }

    @Test
    void deterministicPerSeedAndEpochAndDifferentAcrossThem() {
        BatchPlan p = new BatchPlan(SHARDS, ROWS, 24, 8, 42);
        BatchPlan same = new BatchPlan(SHARDS, ROWS, 24, 8, 42);
        BatchPlan other = new BatchPlan(SHARDS, ROWS, 24, 8, 43);
        assertEquals(p.epoch(2), same.epoch(2));
        assertNotEquals(p.epoch(2), p.epoch(3));
        assertNotEquals(p.epoch(2), other.epoch(2));
        // Steps are consecutive slices of the epoch.
        assertEquals(p.epoch(1).subList(6, 9), p.step(5 + 2));
        assertEquals(p.epoch(0).subList(0, 3), p.step(0));
    }

    static List<String> rowsOf(List<BatchPlan.Piece> pieces) {
        List<String> out = new ArrayList<>();
        for (BatchPlan.Piece p : pieces) {
            for (int i = 0; i < p.count(); i++) {
                out.add(p.shard() + ":" + (p.from() + i));
            }
        }
        return out;
    }

    /** Any split into workers and micro-batches concatenates back to the same global batch. */
    @Test
    void sharesPartitionTheGlobalBatchWhateverTheWorkerCount() {
        BatchPlan p = new BatchPlan(SHARDS, ROWS, 24, 42);
        assertEquals(8, p.unit());
        for (long step = 0; step < 12; step++) {
            List<String> global = rowsOf(p.step(step));
            assertEquals(24, global.size());
            for (int[] split : new int[][] {{1, 1}, {2, 1}, {3, 1}, {2, 2}, {4, 3}, {3, 2}}) {
                List<String> joined = new ArrayList<>();
                for (int w = 0; w < split[0]; w++) {
                    for (int m = 0; m < split[1]; m++) {
                        List<BatchPlan.Piece> share = p.share(step, w, split[0], m, split[1]);
                        assertEquals(24 / (split[0] * split[1]), share.stream().mapToInt(BatchPlan.Piece::count).sum());
                        joined.addAll(rowsOf(share));
                    }
                }
                assertEquals(global, joined, "step " + step + " split " + split[0] + "x" + split[1]);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> p.share(0, 0, 5, 0, 1));
    }

    @Test
    void pieceSizeIsAPowerOfTwoDividingTheBatch() {
        assertEquals(64, BatchPlan.unitFor(4096));
        assertEquals(16, BatchPlan.unitFor(16));
        assertEquals(32, BatchPlan.unitFor(96));
        assertEquals(1, BatchPlan.unitFor(7));
    }

    @Test
    void tooLittleDataForOneStepIsAClearError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new BatchPlan(List.of("a"), new long[] {10}, 16, 0));
        assertTrue(e.getMessage().contains("no full step"), e.getMessage());
    }
}
