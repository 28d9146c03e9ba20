package io.bitspark.model.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.regularization.Regularization;

import io.bitspark.model.arch.ModelOptions;
import io.bitspark.model.arch.ResNetV2Builder;
import io.bitspark.model.arch.ResNetV2Presets;

/** The regularization score of the project's layers against DL4J's own definition, and the squares kernel it uses. */
class ParameterPenaltyTest {

    /**
     * Float and double arrays around the chunk size and of 4M values (where a float accumulator would drift), and a view
     * deep inside a larger buffer, against a double loop.
     */
    @Test
    void sumOfSquaresMatchesADoubleLoop() {
        int chunk = ParameterPenalty.CHUNK;
        for (DataType t : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
            for (int n : new int[] {1, 5, chunk - 1, chunk, 3 * chunk + 17, (1 << 22) + 3}) {
                INDArray buffer = GradientChecks.gaussian(n, 2 * n + 40).addi(0.3).castTo(t);
                INDArray view = buffer.get(NDArrayIndex.interval(n + 7, 2 * n + 7));
                for (INDArray a : new INDArray[] {buffer, view}) {
                    double expected = 0;
                    for (long i = 0; i < a.length(); i++) {
                        double v = a.getDouble(i);
                        expected += v * v;
                    }
                    double got = ParameterPenalty.sumOfSquares(NativeMemory.mem(a));
                    double tol = t == DataType.FLOAT ? 1e-6 : 1e-12;
                    assertEquals(expected, got, tol * expected, t + " n=" + a.length());
                }
            }
        }
    }

    /**
     * A network with weight decay: the score of every layer, the project's and DL4J's, summed by the graph, equals the
     * sum of DL4J's {@code Regularization.score} over every parameter.
     */
    @Test
    void networkScoreIsDl4jsDefinition() {
        for (DataType t : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
            ComputationGraph net = ResNetV2Builder.build(ResNetV2Presets.get("tiny"), ModelOptions.defaults().withDataType(t)
                    .withWeightDecay(3e-4).withInputSize(32, 32).withSeed(11));
            double expected = 0;
            int terms = 0;
            for (Layer layer : net.getLayers()) {
                for (var e : layer.paramTable().entrySet()) {
                    var regs = layer.conf().getLayer().getRegularizationByParam(e.getKey());
                    for (Regularization r : regs == null ? java.util.List.<Regularization>of() : regs) {
                        expected += r.score(e.getValue(), 0, 0);
                        terms++;
                    }
                }
            }
            assertTrue(terms > 10 && expected > 0, t + ": " + terms + " terms, " + expected);
            double got = net.calcRegularizationScore(true);
            assertEquals(expected, got, (t == DataType.FLOAT ? 1e-6 : 1e-12) * expected, t.toString());
        }
    }
}
