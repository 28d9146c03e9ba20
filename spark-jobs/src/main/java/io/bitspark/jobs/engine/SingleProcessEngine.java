package io.bitspark.jobs.engine;

import java.io.IOException;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

import io.bitspark.model.train.ParameterLayout;
import io.bitspark.model.train.SgdStep;

/**
 * The reference: every global step is one step on the whole global batch in this JVM, by {@link SgdStep} (the fused
 * update the distributed engine runs on its slices), or by DL4J's {@code fit} where the network needs DL4J's own
 * updater. Between backprop and the update the global gradient norm is measured (the loss gradient averaged over
 * the batch, before weight decay) and, with {@code bit.train.grad_clip_norm}, the gradient is scaled down to it.
 */
public final class SingleProcessEngine extends DriverNetEngine {

    private final ParameterLayout layout;
    private final SgdStep fused;
    private double gradientNorm;

    public SingleProcessEngine(EngineContext ctx, ComputationGraph net) {
        super(ctx, net);
        this.layout = ParameterLayout.of(net);
        this.fused = SgdStep.orNull(net);
        if (fused != null) {
            return;
        }
        net.addListeners(new BaseTrainingListener() {
            @Override
            public void onGradientCalculation(Model model) {
                INDArray g = Replica.flat(net.getFlattenedGradients());
                gradientNorm = Math.sqrt(layout.gradientSquares(g, 0, g.length(), ctx.globalBatch()));
                double clip = ctx.gradClipNorm();
                if (clip > 0 && gradientNorm > clip) {
                    g.muli(clip / gradientNorm);
                }
            }
        });
    }

    @Override
    protected double[] steps(long from, long to, double[] t) throws IOException {
        int k = (int) (to - from);
        double[] losses = new double[k];
        gradNorms = new double[k];
        paramNorms = new double[k];
        for (long s = from; s < to; s++) {
            long a = System.nanoTime();
            DataSet batch = ctx.trainLoader().load(ctx.globalBatch(s));
            long b = System.nanoTime();
            int i = (int) (s - from);
            if (fused != null) {
                losses[i] = fused.step(batch, Math.toIntExact(s), Math.toIntExact(ctx.epochOf(s)), ctx.gradClipNorm());
                gradNorms[i] = fused.gradientNorm();
                paramNorms[i] = fused.paramNorm();
            } else {
                net.getConfiguration().setIterationCount(Math.toIntExact(s));
                net.getConfiguration().setEpochCount(Math.toIntExact(ctx.epochOf(s)));
                net.fit(batch);
                losses[i] = net.score();
                gradNorms[i] = gradientNorm;
                INDArray p = Replica.flat(net.params());
                paramNorms[i] = Math.sqrt(ParameterLayout.squares(p, 0, p.length()));
            }
            t[0] += (b - a) / 1e9;
            t[1] += (System.nanoTime() - b) / 1e9;
        }
        net.getConfiguration().setIterationCount(Math.toIntExact(to));
        net.getConfiguration().setEpochCount(Math.toIntExact(ctx.epochOf(to)));
        return losses;
    }

    @Override
    public Kind kind() {
        return Kind.SINGLE_PROCESS;
    }
}
