package io.bitspark.jobs.engine;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.api.Repartition;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;

import io.bitspark.jobs.pretrain.GlobalStepHook;

/**
 * dl4j-spark's {@code ParameterAveragingTrainingMaster} (the baseline, {@code bit.train.engine = dl4j-paramavg}):
 * every averaging round broadcasts parameters and momentum from the driver, builds a network in every task and
 * aggregates parameters and momentum back through the driver. With averaging every step it is exact; its cost
 * grows with parameters x workers at the driver.
 */
public final class ParamAvgEngine extends DriverNetEngine {

    private final JavaSparkContext jsc;
    private final SparkComputationGraph sparkNet;
    private final GlobalStepHook hook;

    public ParamAvgEngine(JavaSparkContext jsc, EngineContext ctx, ComputationGraph net, GlobalStepHook hook) {
        super(ctx, net);
        this.jsc = jsc;
        this.hook = hook;
        int perWorker = ctx.globalBatch() / ctx.workers();
        ParameterAveragingTrainingMaster tm = new ParameterAveragingTrainingMaster.Builder(ctx.workers(), perWorker)
                .batchSizePerWorker(perWorker)
                .averagingFrequency(ctx.averagingFrequency())
                .repartionData(Repartition.Never)
                .workerPrefetchNumBatches(0)
                // dl4j-spark's default is false despite its documentation: momentum would restart every round.
                .saveUpdater(true)
                .rngSeed(ctx.seed())
                .trainingHooks(hook)
                .build();
        this.sparkNet = new SparkComputationGraph(jsc, net, tm);
    }

    @Override
    protected double[] steps(long from, long to, double[] t) throws IOException {
        double[] losses = new double[(int) (to - from)];
        int workers = ctx.workers();
        for (long step = from; step < to; ) {
            int k = (int) Math.min(ctx.averagingFrequency(), to - step);
            long a = System.nanoTime();
            List<String> refs = new ArrayList<>(workers * k);
            // parallelize() slices the list into contiguous runs: worker w gets its batch of each local step.
            for (int w = 0; w < workers; w++) {
                for (int j = 0; j < k; j++) {
                    refs.add(ctx.share(step + j, w, 0).encode());
                }
            }
            hook.set(step, ctx.epochOf(step));
            jsc.setJobDescription(String.format(Locale.ROOT, "pretrain (dl4j-paramavg): steps %d-%d", step + 1, step + k));
            JavaRDD<String> paths = jsc.parallelize(refs, workers);
            sparkNet.fitPaths(paths, ctx.trainLoader());
            paths.unpersist(false);
            net = sparkNet.getNetwork();
            double score = sparkNet.getScore();
            for (int j = 0; j < k; j++) {
                losses[(int) (step + j - from)] = score;
            }
            step += k;
            // The Spark module adds one epoch per call and the averaging frequency to the iteration count.
            net.getConfiguration().setIterationCount(Math.toIntExact(step));
            net.getConfiguration().setEpochCount(Math.toIntExact(ctx.epochOf(step)));
            t[1] += (System.nanoTime() - a) / 1e9;
        }
        return losses;
    }

    @Override
    public Kind kind() {
        return Kind.DL4J_PARAMAVG;
    }
}
