package io.bitspark.model.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Sgd;

import io.bitspark.model.arch.ModelOptions;
import io.bitspark.model.arch.ResNetV2Builder;
import io.bitspark.model.arch.ResNetV2Presets;
import io.bitspark.model.layers.GradientChecks;

/** The fused update against DL4J's own {@code fit} (divide by batch, L2, momentum, learning rate, subtract). */
class SgdStepTest {

    private static double maxRelative(INDArray a, INDArray b) {
        double scale = Math.max(1e-12, b.amaxNumber().doubleValue());
        return a.sub(b).amaxNumber().doubleValue() / scale;
    }

    @Test
    void fusedStepEqualsDl4jFitOverSeveralSteps() {
        INDArray x = GradientChecks.gaussian(3, 8, 3, 16, 16).castTo(DataType.FLOAT);
        INDArray y = GradientChecks.oneHot(4, 8, 5).castTo(DataType.FLOAT);
        ComputationGraph reference = TestNets.micro(5e-3);
        ComputationGraph fused = TestNets.micro(5e-3);
        ComputationGraph micro = TestNets.micro(5e-3);
        SgdStep step = SgdStep.of(fused);
        SgdStep microStep = SgdStep.of(micro);
        INDArray start = reference.params().dup();
        for (int s = 0; s < 4; s++) {
            reference.getConfiguration().setIterationCount(s);
            reference.fit(new DataSet(x, y));
            double loss = step.step(new DataSet(x, y), s, 0, 0);
            assertEquals(reference.score(), loss, 1e-5 * Math.abs(reference.score()), "loss at step " + s);
            List<DataSet> parts = new ArrayList<>();
            for (int i = 0; i < 8; i += 4) {
                parts.add(new DataSet(x.get(NDArrayIndex.interval(i, i + 4)).dup(), y.get(NDArrayIndex.interval(i, i + 4)).dup()));
            }
            double microLoss = microStep.step(parts, s, 0, 0);
            assertEquals(loss, microLoss, 1e-5 * Math.abs(loss), "micro-batched loss at step " + s);
        }
        double moved = maxRelative(reference.params(), start);
        assertTrue(moved > 1e-3, "the steps moved the parameters: " + moved);
        double p = maxRelative(fused.params(), reference.params());
        double v = maxRelative(fused.getUpdater().getStateViewArray(), reference.getUpdater().getStateViewArray());
        double pm = maxRelative(micro.params(), reference.params());
        assertTrue(p < 1e-5, "parameters differ from fit's by " + p);
        assertTrue(v < 1e-5, "momentum differs from fit's by " + v);
        assertTrue(pm < 1e-5, "micro-batched parameters differ from fit's by " + pm);
        assertEquals(4, fused.getConfiguration().getIterationCount());
    }

    @Test
    void clippingScalesTheAveragedGradientToTheNorm() {
        INDArray x = GradientChecks.gaussian(5, 4, 3, 16, 16).castTo(DataType.FLOAT);
        INDArray y = GradientChecks.oneHot(6, 4, 5).castTo(DataType.FLOAT);
        ComputationGraph a = TestNets.micro(0);
        ComputationGraph b = TestNets.micro(0);
        INDArray start = a.params().dup();
        SgdStep free = SgdStep.of(a);
        SgdStep clipped = SgdStep.of(b);
        free.step(new DataSet(x, y), 0, 0, 0);
        double norm = free.gradientNorm();
        clipped.step(new DataSet(x, y), 0, 0, norm / 4);
        assertTrue(clipped.clipped() && !free.clipped());
        assertEquals(norm, clipped.gradientNorm(), 1e-6 * norm, "the norm is measured before clipping");
        // Without weight decay and from zero momentum, the first step is -lr * g: clipping to a quarter of the norm
        // moves the parameters a quarter as far.
        INDArray da = a.params().sub(start);
        INDArray db = b.params().sub(start);
        double r = maxRelative(db.mul(4), da);
        assertTrue(r < 1e-4, "clipped step is not a quarter of the free one: " + r);
    }

    @Test
    void otherUpdatersAreNamed() {
        ComputationGraph n = ResNetV2Builder.build(ResNetV2Presets.get("micro"), ModelOptions.defaults()
                .withUpdater(new Sgd(0.1)).withInputSize(16, 16).withSeed(9));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SgdStep.of(n));
        assertTrue(e.getMessage().contains("not SgdMomentum"), e.getMessage());
        assertEquals(null, SgdStep.orNull(n));
    }
}
