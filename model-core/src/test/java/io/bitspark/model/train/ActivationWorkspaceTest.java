package io.bitspark.model.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import io.bitspark.model.arch.ModelOptions;
import io.bitspark.model.arch.ResNetV2Builder;
import io.bitspark.model.arch.ResNetV2Presets;
import io.bitspark.model.layers.GradientChecks;

/**
 * The activations workspace sized from the layers' output types holds a training step as DL4J's own learning would
 * size it, so the step spills nothing and the workspace is never reallocated; gradients are bitwise the same; a
 * larger batch grows it before its step. Workspaces belong to threads: each case runs on threads of its own.
 */
class ActivationWorkspaceTest {

    private static ComputationGraph net(CNN2DFormat layout) {
        return GradientChecks.floatNet("tiny", 32, layout, 0.1, 1e-4, 6, 0.2);
    }

    private static <T> T onNewThread(Callable<T> body) throws Exception {
        ExecutorService ex = Executors.newSingleThreadExecutor();
        try {
            return ex.submit(body).get();
        } finally {
            ex.shutdownNow();
        }
    }

    private static long workspaceSize() {
        return Nd4j.getWorkspaceManager().getWorkspaceForCurrentThread(ActivationWorkspace.ID).getCurrentSize();
    }

    @ParameterizedTest
    @EnumSource(CNN2DFormat.class)
    void sizedLikeDl4jLearnsItAndNeverReallocated(CNN2DFormat layout) throws Exception {
        INDArray x = GradientChecks.gaussian(1, 6, 3, 32, 32).castTo(DataType.FLOAT);
        INDArray y = GradientChecks.oneHot(2, 6, 10).castTo(DataType.FLOAT);
        ComputationGraph learned = net(layout);
        ComputationGraph sized = net(layout);
        // DL4J on its own: learns the size in the first step (and over-allocates 5%).
        long[] dl4j = onNewThread(() -> {
            learned.setInputs(x);
            learned.setLabels(y);
            learned.computeGradientAndScore();
            learned.computeGradientAndScore();
            return new long[] {workspaceSize()};
        });
        long[] ours = onNewThread(() -> {
            SgdStep step = SgdStep.of(sized);
            ActivationWorkspace.prepare(sized, x);
            long prepared = workspaceSize();
            step.step(new DataSet(x, y), 0, 0, 0);
            step.step(new DataSet(x, y), 1, 0, 0);
            return new long[] {prepared, workspaceSize()};
        });
        long need = (long) (dl4j[0] / 1.05);
        assertEquals(ours[0], ours[1], "the prepared workspace was reallocated: it was too small");
        assertTrue(ours[0] >= need, "prepared " + ours[0] + " bytes, DL4J needed " + need);
        assertTrue(ours[0] <= need * 1.05 + (2L << 20), "prepared " + ours[0] + " bytes, far more than DL4J's " + need);
    }

    @ParameterizedTest
    @EnumSource(CNN2DFormat.class)
    void gradientsAreBitwiseTheSame(CNN2DFormat layout) throws Exception {
        INDArray x = GradientChecks.gaussian(3, 4, 3, 32, 32).castTo(DataType.FLOAT);
        INDArray y = GradientChecks.oneHot(4, 4, 10).castTo(DataType.FLOAT);
        ComputationGraph n = net(layout);
        Callable<INDArray[]> twoSteps = () -> {
            INDArray[] g = new INDArray[2];
            for (int i = 0; i < 2; i++) {
                n.setInputs(x);
                n.setLabels(y);
                n.computeGradientAndScore();
                g[i] = n.getFlattenedGradients().dup();
            }
            return g;
        };
        INDArray[] learned = onNewThread(twoSteps);
        INDArray[] sized = onNewThread(() -> {
            ActivationWorkspace.prepare(n, x);
            return twoSteps.call();
        });
        for (int i = 0; i < 2; i++) {
            assertEquals(learned[i], sized[i], "gradients of pass " + i);
        }
    }

    @ParameterizedTest
    @EnumSource(CNN2DFormat.class)
    void aLargerBatchGrowsTheWorkspaceBeforeItsStep(CNN2DFormat layout) throws Exception {
        ComputationGraph n = net(layout);
        long[] sizes = onNewThread(() -> {
            SgdStep step = SgdStep.of(n);
            INDArray small = GradientChecks.gaussian(5, 2, 3, 32, 32).castTo(DataType.FLOAT);
            INDArray large = GradientChecks.gaussian(6, 8, 3, 32, 32).castTo(DataType.FLOAT);
            step.step(new DataSet(small, GradientChecks.oneHot(7, 2, 10).castTo(DataType.FLOAT)), 0, 0, 0);
            long first = workspaceSize();
            ActivationWorkspace.prepare(n, large);
            long grown = workspaceSize();
            step.step(new DataSet(large, GradientChecks.oneHot(8, 8, 10).castTo(DataType.FLOAT)), 1, 0, 0);
            return new long[] {first, grown, workspaceSize()};
        });
        long fixed = ActivationWorkspace.MARGIN_BYTES;
        assertTrue(sizes[1] - fixed > 3 * (sizes[0] - fixed), "4x the batch: " + sizes[0] + " -> " + sizes[1] + " bytes");
        assertEquals(sizes[1], sizes[2], "the grown workspace held the larger step");
    }
}
