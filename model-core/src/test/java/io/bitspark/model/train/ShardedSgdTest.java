package io.bitspark.model.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import io.bitspark.model.layers.GradientChecks;

class ShardedSgdTest {

    static ComputationGraph net() {
        return TestNets.micro(1e-2);
    }

    /** The layout covers every parameter once, with L2 on kernels only, as DL4J's configuration says. */
    @Test
    void layoutMatchesTheNetwork() {
        ComputationGraph n = net();
        ParameterLayout l = ParameterLayout.of(n);
        assertEquals(n.numParams(), l.size());
        long at = 0;
        boolean kernels = false;
        boolean others = false;
        for (ParameterLayout.Segment s : l.segments()) {
            assertEquals(at, s.offset(), s.name());
            at += s.length();
            if (s.name().endsWith("_W")) {
                kernels |= s.l2() == 1e-2;
            } else {
                others |= s.l2() == 0;
            }
        }
        assertTrue(kernels && others, "L2 on kernels and none elsewhere: " + l.segments());
    }

    /**
     * Three steps of DL4J's fit (its updater: mean gradient, L2, heavy-ball momentum) equal three steps of the
     * sharded update applied slice by slice to the summed gradient, with the momentum cut into three shards.
     */
    @Test
    void shardedStepsEqualDl4jSteps() {
        INDArray x = GradientChecks.gaussian(1, 6, 3, 16, 16).castTo(DataType.FLOAT);
        INDArray y = GradientChecks.oneHot(2, 6, 5).castTo(DataType.FLOAT);
        ComputationGraph a = net();
        ComputationGraph b = net();
        ParameterLayout layout = ParameterLayout.of(b);
        INDArray w = b.params().reshape(b.numParams());
        int shards = 3;
        INDArray[] v = new INDArray[shards];
        for (int r = 0; r < shards; r++) {
            long[] s = ParameterLayout.slice(layout.size(), r, shards);
            v[r] = Nd4j.zeros(DataType.FLOAT, s[1] - s[0]);
        }
        for (int step = 0; step < 3; step++) {
            a.getConfiguration().setIterationCount(step);
            a.fit(new DataSet(x, y));
            b.setInputs(x);
            b.setLabels(y);
            b.computeGradientAndScore();
            assertEquals(a.score(), b.score(), 1e-5, "score before the update of step " + step);
            INDArray g = b.getFlattenedGradients().reshape(b.numParams());
            for (int r = 0; r < shards; r++) {
                long[] s = ParameterLayout.slice(layout.size(), r, shards);
                ShardedSgd.step(w, g, v[r], s[0], s[0], s[1], layout, 6, 0.2, 0.9);
            }
        }
        double diff = a.params().sub(b.params()).amaxNumber().doubleValue();
        assertTrue(diff < 1e-6, "sharded update differs from DL4J's by " + diff);
        INDArray state = a.getUpdater().getStateViewArray().reshape(a.numParams());
        for (int r = 0; r < shards; r++) {
            long[] s = ParameterLayout.slice(layout.size(), r, shards);
            double m = state.get(NDArrayIndex.interval(s[0], s[1])).sub(v[r]).amaxNumber().doubleValue();
            assertTrue(m < 1e-5, "momentum shard " + r + " differs by " + m);
        }
        assertTrue(a.params().sub(net().params()).amaxNumber().doubleValue() > 1e-2, "the steps moved the parameters");
    }
}
