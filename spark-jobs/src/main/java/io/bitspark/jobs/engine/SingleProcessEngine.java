package io.bitspark.jobs.engine;

import java.io.IOException;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

import io.bitspark.model.train.ParameterLayout;

/**
 * The reference: every global step is one {@code fit} on the whole global batch in this JVM. Between backprop and
 * the update, a listener measures the global gradient norm (the loss gradient averaged over the batch, before
 * weight decay) and, with {@code bit.train.grad_clip_norm}, scales the gradient down to that norm.
 */
public final class SingleProcessEngine extends DriverNetEngine {

    private final ParameterLayout layout;
    private double gradientNorm;

    public SingleProcessEngine(EngineContext ctx, ComputationGraph net) {
        super(ctx, net);
        this.layout = ParameterLayout.of(net);
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
            net.getConfiguration().setIterationCount(Math.toIntExact(s));
            net.getConfiguration().setEpochCount(Math.toIntExact(ctx.epochOf(s)));
            net.fit(batch);
            int i = (int) (s - from);
            losses[i] = net.score();
            gradNorms[i] = gradientNorm;
            INDArray p = Replica.flat(net.params());
            paramNorms[i] = Math.sqrt(ParameterLayout.squares(p, 0, p.length()));
            t[0] += (b - a) / 1e9;
            t[1] += (System.nanoTime() - b) / 1e9;
        }
        net.getConfiguration().setIterationCount(Math.toIntExact(to));
        net.getConfiguration().setEpochCount(Math.toIntExact(ctx.epochOf(to)));
        return losses;
    }

    @Override
    public String name() {
        return "single-process";
    }
}
