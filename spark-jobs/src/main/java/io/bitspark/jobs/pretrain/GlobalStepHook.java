package io.bitspark.jobs.pretrain;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.api.TrainingHook;
import org.nd4j.linalg.dataset.api.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;

/**
 * Makes every worker's updater see the global step. dl4j-spark rebuilds each worker's network from a
 * configuration clone whose iteration count is 0 at every averaging round, so a schedule would never
 * advance; before each local update this hook sets the count to {@code globalStep + local steps so far}.
 * The driver sets {@code globalStep} before each round; the hook travels with the round's tasks.
 */
public class GlobalStepHook implements TrainingHook {

    private long globalStep;
    private long epoch;
    private transient int calls;

    public void set(long globalStep, long epoch) {
        this.globalStep = globalStep;
        this.epoch = epoch;
    }

    @Override
    public void preUpdate(DataSet minibatch, Model model) {
        apply(model);
    }

    @Override
    public void preUpdate(MultiDataSet minibatch, Model model) {
        apply(model);
    }

    /** Called with the iteration the updater is about to use (for tests). */
    protected void observed(ComputationGraph g, int iteration) {
    }

    private void apply(Model model) {
        if (model instanceof ComputationGraph g) {
            int iteration = Math.toIntExact(globalStep + calls);
            g.getConfiguration().setIterationCount(iteration);
            g.getConfiguration().setEpochCount(Math.toIntExact(epoch));
            calls++;
            observed(g, iteration);
        }
    }

    @Override
    public void postUpdate(DataSet minibatch, Model model) {
    }

    @Override
    public void postUpdate(MultiDataSet minibatch, Model model) {
    }
}
