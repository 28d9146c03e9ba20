package io.bitspark.model.train;

import java.util.List;

import org.deeplearning4j.nn.api.Updater;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.updater.BaseMultiLayerUpdater;
import org.deeplearning4j.nn.updater.UpdaterBlock;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.IUpdater;

/**
 * One training step of a network updated by {@link SgdMomentum} everywhere: backprop by DL4J, then the update as one
 * fused pass over the flat parameter, gradient and momentum vectors ({@link ShardedSgd#step} over all of them, the
 * kernel the distributed engine runs on its slices). The momentum is the network's own updater state, so
 * checkpoints read and write it as before. Equal to DL4J's {@code fit} (divide by the batch, L2, momentum,
 * learning rate, subtract) to float rounding, without its seven passes over the parameters and their temporaries.
 */
public final class SgdStep {

    private final ComputationGraph net;
    private final ParameterLayout layout;
    private final INDArray params;
    private final INDArray grads;
    private final INDArray velocity;
    private final SgdMomentum updater;
    private INDArray accumulator;
    private double gradientNorm;
    private double paramNorm;
    private boolean clipped;

    private SgdStep(ComputationGraph net, SgdMomentum updater) {
        this.net = net;
        this.updater = updater;
        this.layout = ParameterLayout.of(net);
        this.params = flat(net.params());
        if (net.getFlattenedGradients() == null) {
            net.initGradientsView();
        }
        this.grads = flat(net.getFlattenedGradients());
        Updater u = net.getUpdater(true);
        INDArray state = u.getStateViewArray();
        if (state == null || state.length() != params.length()) {
            throw new IllegalArgumentException("momentum state of " + (state == null ? 0 : state.length()) + " values for "
                    + params.length() + " parameters");
        }
        if (u instanceof BaseMultiLayerUpdater<?> m) {
            for (UpdaterBlock b : m.getUpdaterBlocks()) {
                if (b.getParamOffsetStart() != b.getUpdaterViewOffsetStart() || b.getParamOffsetEnd() != b.getUpdaterViewOffsetEnd()) {
                    throw new IllegalArgumentException("momentum of parameters " + b.getParamOffsetStart() + ".." + b.getParamOffsetEnd()
                            + " sits at " + b.getUpdaterViewOffsetStart() + ".." + b.getUpdaterViewOffsetEnd());
                }
            }
        }
        this.velocity = flat(state);
    }

    /**
     * The fused step for {@code net}, or an {@link IllegalArgumentException} naming why it cannot serve: a layer
     * with another updater, learning rate or momentum; parameters that are not float32.
     */
    public static SgdStep of(ComputationGraph net) {
        if (net.params().dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("the fused step runs on float32 parameters, not " + net.params().dataType());
        }
        SgdMomentum first = null;
        for (GraphVertex v : net.getVertices()) {
            if (!v.hasLayer() || v.getLayer().numParams() == 0) {
                continue;
            }
            org.deeplearning4j.nn.conf.layers.Layer conf = v.getLayer().conf().getLayer();
            for (String p : v.getLayer().paramTable(false).keySet()) {
                IUpdater u = conf.getUpdaterByParam(p);
                if (!(u instanceof SgdMomentum s)) {
                    throw new IllegalArgumentException(v.getVertexName() + "_" + p + " is updated by " + u + ", not SgdMomentum");
                }
                if (first == null) {
                    first = s;
                } else if (!first.equals(s)) {
                    throw new IllegalArgumentException(v.getVertexName() + "_" + p + " has " + s + ", other parameters " + first);
                }
            }
        }
        if (first == null) {
            throw new IllegalArgumentException("the network has no parameters");
        }
        return new SgdStep(net, first);
    }

    /** {@link #of}, or null when the network needs DL4J's own updater. */
    public static SgdStep orNull(ComputationGraph net) {
        try {
            return of(net);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /**
     * Runs one step on the sum of the micro-batches' gradients (one step on their union: GroupNorm has no batch
     * statistics) at the learning rate of {@code iteration}, with the averaged gradient scaled down to
     * {@code clipNorm} where its global norm exceeds it ({@code clipNorm <= 0}: no clipping). Calls the network's
     * listeners as {@code fit} does. Returns the mean loss over the examples plus the weight-decay penalty, as
     * {@code score()} after {@code fit} on the whole batch.
     */
    public double step(List<DataSet> microBatches, int iteration, int epoch, double clipNorm) {
        if (microBatches.isEmpty()) {
            throw new IllegalArgumentException("no micro-batches");
        }
        net.getConfiguration().setIterationCount(iteration);
        net.getConfiguration().setEpochCount(epoch);
        double lossSum = 0;
        int examples = 0;
        for (int j = 0; j < microBatches.size(); j++) {
            DataSet mb = microBatches.get(j);
            net.setInputs(mb.getFeatures());
            net.setLabels(mb.getLabels());
            if (mb.getFeaturesMaskArray() != null || mb.getLabelsMaskArray() != null) {
                net.setLayerMaskArrays(mb.getFeaturesMaskArray() == null ? null : new INDArray[] {mb.getFeaturesMaskArray()},
                        mb.getLabelsMaskArray() == null ? null : new INDArray[] {mb.getLabelsMaskArray()});
            } else {
                net.clearLayerMaskArrays();
            }
            ActivationWorkspace.prepare(net, mb.getFeatures());
            net.computeGradientAndScore();
            int n = (int) mb.getFeatures().size(0);
            lossSum += net.score() * n;
            examples += n;
            if (microBatches.size() > 1) {
                if (accumulator == null) {
                    try (var ws = org.nd4j.linalg.factory.Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                        accumulator = org.nd4j.linalg.factory.Nd4j.createUninitialized(DataType.FLOAT, grads.length());
                    }
                }
                if (j == 0) {
                    accumulator.assign(grads);
                } else {
                    accumulator.addi(grads);
                }
            }
        }
        INDArray g = microBatches.size() > 1 ? accumulator : grads;
        // The clipping scale needs the norm before the update; otherwise the update's own pass measures it.
        double before = clipNorm > 0 ? Math.sqrt(layout.gradientSquares(g, 0, g.length(), examples)) : 0;
        clipped = clipNorm > 0 && before > clipNorm;
        double scale = clipped ? clipNorm / before : 1.0;
        double[] squares = ShardedSgd.step(params, g, velocity, 0, 0, params.length(), layout, examples, scale,
                updater.getLearningRate(iteration, epoch), updater.getMomentum());
        gradientNorm = Math.sqrt(squares[0]);
        paramNorm = Math.sqrt(squares[1]);
        net.getConfiguration().setIterationCount(iteration + 1);
        net.clearLayersStates();
        for (TrainingListener l : net.getListeners()) {
            l.iterationDone(net, iteration, epoch);
        }
        return lossSum / examples;
    }

    /** {@link #step(List, int, int, double)} on one batch. */
    public double step(DataSet batch, int iteration, int epoch, double clipNorm) {
        return step(List.of(batch), iteration, epoch, clipNorm);
    }

    /** Global norm of the last step's loss gradient averaged over its batch, before clipping and weight decay. */
    public double gradientNorm() {
        return gradientNorm;
    }

    /** L2 norm of all parameters after the last step. */
    public double paramNorm() {
        return paramNorm;
    }

    /** Whether the last step's gradient was scaled down to the clipping norm. */
    public boolean clipped() {
        return clipped;
    }

    public ParameterLayout layout() {
        return layout;
    }

    private static INDArray flat(INDArray a) {
        return a.rank() == 1 ? a : a.reshape(a.length());
    }
}
