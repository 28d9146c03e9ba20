package io.bitspark.jobs.engine;

import java.io.IOException;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.dataset.DataSet;

/** The reference: every global step is one {@code fit} on the whole global batch in this JVM. */
public final class SingleProcessEngine extends DriverNetEngine {

    public SingleProcessEngine(EngineContext ctx, ComputationGraph net) {
        super(ctx, net);
    }

    @Override
    protected double[] steps(long from, long to, double[] t) throws IOException {
        double[] losses = new double[(int) (to - from)];
        for (long s = from; s < to; s++) {
            long a = System.nanoTime();
            DataSet batch = ctx.trainLoader().load(ctx.globalBatch(s));
            long b = System.nanoTime();
            net.getConfiguration().setIterationCount(Math.toIntExact(s));
            net.getConfiguration().setEpochCount(Math.toIntExact(ctx.epochOf(s)));
            net.fit(batch);
            losses[(int) (s - from)] = net.score();
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
