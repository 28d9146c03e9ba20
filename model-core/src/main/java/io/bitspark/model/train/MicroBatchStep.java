package io.bitspark.model.train;

import java.util.List;

import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/**
 * One optimizer step over a batch too large to fit at once: gradients of the micro-batches are summed
 * (DL4J's per-layer gradients are sums over examples), then the updater divides by the whole batch size and
 * applies L2, momentum and the learning rate of {@code iteration}, exactly as one step on the whole batch. Networks
 * updated by {@link SgdMomentum} everywhere take the fused update ({@link SgdStep}); others DL4J's updater.
 */
public final class MicroBatchStep {

    private MicroBatchStep() {}

    /** Runs the step; returns the mean loss over the whole batch (without regularization terms). */
    public static double step(ComputationGraph net, List<DataSet> microBatches, int iteration, int epoch) {
        return step(net, SgdStep.orNull(net), microBatches, iteration, epoch);
    }

    /**
     * The same with the fused step a training loop made once for {@code net} ({@link SgdStep#orNull}; null: DL4J's
     * updater), so its layout and buffers are not rebuilt every step.
     */
    public static double step(ComputationGraph net, SgdStep fused, List<DataSet> microBatches, int iteration, int epoch) {
        if (fused != null) {
            double penalty = net.calcRegularizationScore(true);
            return fused.step(microBatches, iteration, epoch, 0) - penalty;
        }
        INDArray accumulated = null;
        double lossSum = 0;
        int examples = 0;
        for (DataSet mb : microBatches) {
            net.setInputs(mb.getFeatures());
            net.setLabels(mb.getLabels());
            ActivationWorkspace.prepare(net, mb.getFeatures());
            net.computeGradientAndScore();
            int n = (int) mb.getFeatures().size(0);
            // score() is the mean over the micro-batch plus the penalty; rescale to a sum of losses.
            lossSum += (net.score() - net.calcRegularizationScore(true)) * n;
            examples += n;
            INDArray g = net.gradient().gradient();
            if (accumulated == null) {
                accumulated = g.dup();
            } else {
                accumulated.addi(g);
            }
        }
        if (accumulated == null) {
            throw new IllegalArgumentException("no micro-batches");
        }
        Gradient gradient = net.gradient();
        gradient.gradient().assign(accumulated);
        net.getConfiguration().setIterationCount(iteration);
        net.getConfiguration().setEpochCount(epoch);
        net.getUpdater().update(gradient, iteration, epoch, examples, LayerWorkspaceMgr.noWorkspaces());
        net.params().subi(gradient.gradient());
        net.getConfiguration().setIterationCount(iteration + 1);
        net.clearLayersStates();
        return lossSum / examples;
    }
}
