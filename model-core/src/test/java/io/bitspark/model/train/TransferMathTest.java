package io.bitspark.model.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import io.bitspark.model.layers.GradientChecks;

class TransferMathTest {

    static ComputationGraph net() {
        return TestNets.micro(1e-3);
    }

    /** Four micro-batches of 2 then one update == one step on the 8 examples, twice in a row (momentum too). */
    @Test
    void microBatchesEqualOneBigBatch() {
        INDArray x = GradientChecks.gaussian(1, 8, 3, 16, 16).castTo(DataType.FLOAT);
        INDArray y = GradientChecks.oneHot(2, 8, 5).castTo(DataType.FLOAT);
        ComputationGraph a = net();
        ComputationGraph b = net();
        assertEquals(a.params(), b.params());
        for (int step = 0; step < 2; step++) {
            a.getConfiguration().setIterationCount(step);
            a.fit(new DataSet(x, y));
            List<DataSet> parts = new java.util.ArrayList<>();
            for (int i = 0; i < 8; i += 2) {
                parts.add(new DataSet(x.get(NDArrayIndex.interval(i, i + 2)).dup(), y.get(NDArrayIndex.interval(i, i + 2)).dup()));
            }
            MicroBatchStep.step(b, parts, step, 0);
        }
        double diff = a.params().sub(b.params()).amaxNumber().doubleValue();
        assertTrue(diff < 1e-5, "micro-batched step differs by " + diff);
        assertTrue(a.params().sub(net().params()).amaxNumber().doubleValue() > 1e-2, "the steps moved the parameters");
    }

    @Test
    void betaDrawsAndMixing() {
        Random rng = new Random(3);
        double sum = 0;
        int extreme = 0;
        for (int i = 0; i < 20000; i++) {
            double l = MixUp.lambda(0.1, rng);
            assertTrue(l >= 0 && l <= 1);
            sum += l;
            if (l < 0.05 || l > 0.95) {
                extreme++;
            }
        }
        assertEquals(0.5, sum / 20000, 0.02, "Beta(0.1, 0.1) is symmetric");
        assertTrue(extreme > 0.6 * 20000, "Beta(0.1, 0.1) puts most mass near 0 and 1: " + extreme);
        DataSet d = new DataSet(Nd4j.arange(12).castTo(DataType.FLOAT).reshape(4, 3), Nd4j.eye(4).castTo(DataType.FLOAT));
        DataSet same = MixUp.mix(d, 1.0, new Random(1));
        assertEquals(d.getFeatures(), same.getFeatures());
        DataSet half = MixUp.mix(d, 0.5, new Random(1));
        assertEquals(4.0, half.getLabels().sumNumber().doubleValue(), 1e-6, "soft labels still sum to 1 per row");
        assertEquals(d.getFeatures().sumNumber().doubleValue(), half.getFeatures().sumNumber().doubleValue(), 1e-4,
                "a permutation mix keeps the batch sum");
    }

    @Test
    void ridgeProbeSeparatesSeparableData() {
        Random r = new Random(5);
        float[][] x = new float[60][8];
        int[] y = new int[60];
        for (int i = 0; i < 60; i++) {
            y[i] = i % 3;
            for (int j = 0; j < 8; j++) {
                x[i][j] = (float) (r.nextGaussian() * 0.3 + (j == y[i] ? 2 : 0));
            }
        }
        RidgeProbe p = RidgeProbe.fit(x, y, 3, 1e-3);
        assertEquals(1.0, p.accuracy(x, y), 0.0);
    }
}
