package io.bitspark.model.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import io.bitspark.model.arch.BitLayerNames;
import io.bitspark.model.arch.ModelOptions;
import io.bitspark.model.arch.ResNetV2Builder;
import io.bitspark.model.arch.ResNetV2Presets;
import io.bitspark.model.train.SgdMomentum;
import io.bitspark.model.train.SgdStep;

/**
 * Recomputing standardized kernels in backprop changes memory and time, never a bit of the result; so does reusing
 * them across the inference passes of a {@link FrozenKernels} scope, which standardizes each kernel once.
 */
class StandardizedKernelsTest {

    private static ComputationGraph net(CNN2DFormat layout) {
        return GradientChecks.floatNet("micro", 16, layout, 0.1, 1e-3, 5, 0.3);
    }

    @ParameterizedTest
    @EnumSource(value = CNN2DFormat.class)
    void recomputingGivesBitwiseTheSameTraining(CNN2DFormat layout) {
        ComputationGraph keep = net(layout);
        ComputationGraph recompute = net(layout);
        assertEquals(StandardizedKernels.KEEP, StandardizedKernels.of(keep), "a small model keeps its kernels");
        assertEquals(StandardizedKernels.RECOMPUTE, StandardizedKernels.RECOMPUTE.applyTo(recompute));
        assertEquals(StandardizedKernels.RECOMPUTE, StandardizedKernels.of(recompute));
        INDArray x = GradientChecks.gaussian(1, 4, 3, 16, 16).castTo(DataType.FLOAT);
        INDArray y = GradientChecks.oneHot(2, 4, 5).castTo(DataType.FLOAT);
        SgdStep a = SgdStep.of(keep);
        SgdStep b = SgdStep.of(recompute);
        INDArray start = keep.params().dup();
        for (int s = 0; s < 3; s++) {
            double la = a.step(new DataSet(x, y), s, 0, 0);
            double lb = b.step(new DataSet(x, y), s, 0, 0);
            assertEquals(la, lb, 0.0, "loss at step " + s);
            assertEquals(keep.getFlattenedGradients(), recompute.getFlattenedGradients(), "gradients at step " + s);
        }
        assertTrue(keep.params().sub(start).amaxNumber().doubleValue() > 1e-3, "training moved the parameters");
        assertEquals(keep.params(), recompute.params(), "parameters after 3 steps");
        assertEquals(keep.output(x)[0], recompute.output(x)[0], "inference");
    }

    @Test
    void autoKeepsUpToTheLimitAndParsesItsNames() {
        assertEquals(StandardizedKernels.KEEP, StandardizedKernels.AUTO.applyTo(net(CNN2DFormat.NCHW)));
        assertEquals(StandardizedKernels.RECOMPUTE, StandardizedKernels.parse(" Recompute "));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> StandardizedKernels.parse("never"));
        assertTrue(e.getMessage().contains("'never'"), e.getMessage());
    }

    @ParameterizedTest
    @EnumSource(value = CNN2DFormat.class)
    void frozenInferenceGivesBitwiseTheSameOutputsAndStandardizesOnce(CNN2DFormat layout) {
        ComputationGraph n = net(layout);
        INDArray x = GradientChecks.gaussian(2, 3, 3, 16, 16).castTo(DataType.FLOAT);
        INDArray outside = n.output(x)[0];
        INDArray kernel = n.getLayer(BitLayerNames.conv(BitLayerNames.unit(0, 0), 'b')).getParam("W");
        INDArray original = kernel.dup();
        try (FrozenKernels frozen = FrozenKernels.of(n)) {
            assertEquals(outside, n.output(x)[0], "first pass in the scope");
            assertEquals(outside, n.output(x)[0], "second pass, reusing the standardized kernels");
            // Breaking the scope's promise shows that the kernels are not standardized again: the output stays.
            kernel.muli(-1.5).addi(0.01);
            assertEquals(outside, n.output(x)[0], "a pass after the weights changed inside the scope");
        }
        INDArray after = n.output(x)[0];
        assertTrue(after.sub(outside).amaxNumber().doubleValue() > 1e-6, "closing the scope standardizes the new weights");
        kernel.assign(original);
        assertEquals(outside, n.output(x)[0], "the original weights again");
    }

    @Test
    void trainingInsideAFrozenScopeFailsAndWorksAfterIt() {
        ComputationGraph n = net(CNN2DFormat.NHWC);
        INDArray x = GradientChecks.gaussian(1, 4, 3, 16, 16).castTo(DataType.FLOAT);
        INDArray y = GradientChecks.oneHot(2, 4, 5).castTo(DataType.FLOAT);
        SgdStep step = SgdStep.of(n);
        try (FrozenKernels frozen = FrozenKernels.of(n)) {
            n.output(x);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> step.step(new DataSet(x, y), 0, 0, 0));
            assertTrue(e.getMessage().contains("frozen"), e.getMessage());
        }
        INDArray before = n.output(x)[0];
        step.step(new DataSet(x, y), 0, 0, 0);
        assertTrue(n.output(x)[0].sub(before).amaxNumber().doubleValue() > 1e-6, "the step after the scope trained");
    }

    @Test
    void recomputingLayersStandardizeEveryPassInAFrozenScope() {
        ComputationGraph n = net(CNN2DFormat.NHWC);
        StandardizedKernels.RECOMPUTE.applyTo(n);
        INDArray x = GradientChecks.gaussian(2, 3, 3, 16, 16).castTo(DataType.FLOAT);
        INDArray kernel = n.getLayer(BitLayerNames.conv(BitLayerNames.unit(0, 0), 'b')).getParam("W");
        try (FrozenKernels frozen = FrozenKernels.of(n)) {
            INDArray first = n.output(x)[0];
            kernel.muli(-1.5).addi(0.01);
            assertTrue(n.output(x)[0].sub(first).amaxNumber().doubleValue() > 1e-6, "no kept copy to reuse");
        }
    }
}
