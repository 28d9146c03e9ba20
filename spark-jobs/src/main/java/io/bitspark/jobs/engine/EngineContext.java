package io.bitspark.jobs.engine;

import java.io.IOException;
import java.io.Serializable;

import org.apache.hadoop.conf.Configuration;
import org.apache.spark.util.SerializableConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

import io.bitspark.data.shards.BatchPlan;
import io.bitspark.jobs.io.Stores;
import io.bitspark.data.shards.BatchRef;
import io.bitspark.jobs.pretrain.HoldoutEvaluator;
import io.bitspark.jobs.pretrain.ShardBatchLoader;
import io.bitspark.model.arch.LossKind;
import io.bitspark.model.arch.ModelOptions;
import io.bitspark.model.arch.ResNetV2Builder;
import io.bitspark.model.arch.ResNetV2Spec;
import io.bitspark.model.checkpoint.ArtifactStore;
import io.bitspark.model.train.SgdMomentum;
import io.bitspark.model.train.UpstreamSchedule;

/**
 * Everything an engine needs to run steps anywhere, fixed for the whole run: the model and optimizer recipe,
 * the data plan and loaders, the split into workers and micro-batches, the exchange settings (timeout; bfloat16
 * gradients on the wire) and the run directory. Sent to the
 * executors once per run (a Spark broadcast), not per round.
 */
public record EngineContext(String runId, ResNetV2Spec spec, LossKind loss, double headBiasInit, long seed, int resolution,
                            double weightDecay, UpstreamSchedule schedule, double momentum, double gradClipNorm, BatchPlan plan,
                            long stepsPerEpoch, ShardBatchLoader trainLoader, HoldoutEvaluator evaluator,
                            io.bitspark.jobs.pretrain.FewShotEvaluator fewshot, int workers,
                            int microBatches, int averagingFrequency, String output, SerializableConfiguration hadoop,
                            long exchangeTimeoutMillis, boolean bf16Gradients) implements Serializable {

    public EngineContext {
        if (plan.globalBatch() % (workers * microBatches) != 0) {
            throw new IllegalArgumentException("bit.train.global_batch (" + plan.globalBatch() + ") must be a multiple of "
                    + workers + " workers x " + microBatches + " micro-batches");
        }
    }

    public static SerializableConfiguration conf(Configuration c) {
        return new SerializableConfiguration(c);
    }

    /** A freshly initialised network: the same on every worker for the same seed. */
    public ComputationGraph newNetwork() {
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        return ResNetV2Builder.build(spec, ModelOptions.defaults()
                .withLoss(loss)
                .withSeed(seed)
                .withUpdater(new SgdMomentum(schedule, momentum))
                .withWeightDecay(weightDecay)
                .withHeadBiasInit(headBiasInit)
                .withInputSize(resolution, resolution));
    }

    public int globalBatch() {
        return plan.globalBatch();
    }

    public long epochOf(long step) {
        return plan.epochOf(step);
    }

    /** The whole global batch of a step. */
    public BatchRef globalBatch(long step) {
        return plan.batch(step, 0, plan.globalBatch());
    }

    /** Micro-batch {@code micro} of worker {@code worker}'s share of a step. */
    public BatchRef share(long step, int worker, int micro) {
        return plan.shareBatch(step, worker, workers, micro, microBatches);
    }

    public ArtifactStore runStore() throws IOException {
        return Stores.directory(output, hadoop.value());
    }

    public EngineContext withWorkers(int w) {
        return new EngineContext(runId, spec, loss, headBiasInit, seed, resolution, weightDecay, schedule, momentum, gradClipNorm,
                plan,
                stepsPerEpoch, trainLoader, evaluator, fewshot, w, microBatches, averagingFrequency, output, hadoop, exchangeTimeoutMillis,
                bf16Gradients);
    }
}
