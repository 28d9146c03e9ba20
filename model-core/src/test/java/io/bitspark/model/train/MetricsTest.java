package io.bitspark.model.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class MetricsTest {

    @Test
    void topK() {
        float[][] s = {{0.1f, 0.7f, 0.2f}, {0.5f, 0.3f, 0.2f}, {0.2f, 0.3f, 0.5f}, {0.4f, 0.4f, 0.2f}};
        int[] y = {1, 1, 0, 0};
        // row 0 right; row 1 label second; row 2 label third; row 3 tie with class 1 counts against.
        assertEquals(0.25, Metrics.topK(s, y, 1), 1e-12);
        assertEquals(0.75, Metrics.topK(s, y, 2), 1e-12);
        assertEquals(1.0, Metrics.topK(s, y, 3), 1e-12);
    }

    /** A diverged model (NaN scores) is wrong everywhere: NaN used to compare false and count as a hit. */
    @Test
    void nanScoresAreMisses() {
        float[][] allNan = {{Float.NaN, Float.NaN, Float.NaN}, {Float.NaN, Float.NaN, Float.NaN}};
        int[] y = {0, 2};
        assertEquals(0.0, Metrics.topK(allNan, y, 1), 1e-12);
        assertEquals(0.0, Metrics.topK(allNan, y, 2), 1e-12);
        float[][] oneNan = {{0.9f, Float.NaN, 0.1f}};
        assertEquals(0.0, Metrics.topK(oneNan, new int[] {0}, 1), 1e-12, "a NaN rival outranks the label");
        assertEquals(1.0, Metrics.topK(oneNan, new int[] {0}, 2), 1e-12);
        assertEquals(0.0, Metrics.topK(oneNan, new int[] {1}, 3), 1e-12, "a NaN label score is a miss at any k");
    }

    /** Hand-worked: class 0 ranked (pos, neg, pos) -> AP = (1/1 + 2/3) / 2; class 1 all negative (skipped). */
    @Test
    void meanAveragePrecision() {
        float[][] s = {{0.9f, 0.1f}, {0.8f, 0.2f}, {0.7f, 0.3f}};
        boolean[][] p = {{true, false}, {false, false}, {true, false}};
        assertEquals((1.0 + 2.0 / 3) / 2, Metrics.meanAveragePrecision(s, p), 1e-12);
        boolean[][] q = {{true, false}, {false, true}, {true, false}};
        // class 1: its positive ranks second of three -> AP 1/2.
        assertEquals(((1.0 + 2.0 / 3) / 2 + 0.5) / 2, Metrics.meanAveragePrecision(s, q), 1e-12);
    }
}
