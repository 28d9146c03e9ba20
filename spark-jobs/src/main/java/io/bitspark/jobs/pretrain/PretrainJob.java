package io.bitspark.jobs.pretrain;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.api.Repartition;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.bitspark.data.manifest.DatasetManifest;
import io.bitspark.data.shards.BatchPlan;
import io.bitspark.jobs.io.Stores;
import io.bitspark.model.arch.LossKind;
import io.bitspark.model.arch.ModelOptions;
import io.bitspark.model.arch.ResNetV2Builder;
import io.bitspark.model.arch.ResNetV2Presets;
import io.bitspark.model.arch.ResNetV2Spec;
import io.bitspark.model.checkpoint.ArtifactStore;
import io.bitspark.model.checkpoint.CheckpointException;
import io.bitspark.model.checkpoint.ProjectCheckpoint;
import io.bitspark.model.checkpoint.Provenance;
import io.bitspark.model.data.Augment;
import io.bitspark.model.train.SgdMomentum;
import io.bitspark.model.train.UpstreamSchedule;

/**
 * BiT upstream pre-training: synchronous data-parallel SGD with momentum by parameter averaging on Spark
 * (dl4j-spark), or the same steps in one process. With averaging every step and the momentum state averaged
 * too, W workers on b images each equal one step on W*b images (updates are linear in the gradient). Each
 * global step's batches are a pure function of (manifest, seed, step), decoded and augmented on the
 * executors; the learning rate follows the global step; checkpoints carry everything to resume exactly.
 */
public final class PretrainJob {

    private static final Logger LOG = LoggerFactory.getLogger(PretrainJob.class);
    private static final Pattern STEP_DIR = Pattern.compile("^step-(\\d+)$");

    /** Where the steps run. */
    public enum Mode { SPARK, SINGLE_PROCESS }

    /** What a run ended with. */
    public record Result(ComputationGraph net, long steps, long stepsPerEpoch, Map<String, Double> lastEval,
                         String lastCheckpoint, double imagesPerSecond) {}

    private final SparkSession spark;
    private final PretrainConfig cfg;
    private final String data;
    private final String output;
    private final boolean resume;
    private final Mode mode;
    private GlobalStepHook hook = new GlobalStepHook();

    public PretrainJob(SparkSession spark, PretrainConfig cfg, String data, String output, boolean resume, Mode mode) {
        this.spark = spark;
        this.cfg = cfg;
        this.data = data;
        this.output = output;
        this.resume = resume;
        this.mode = mode;
        if (mode == Mode.SPARK && spark == null) {
            throw new IllegalArgumentException("Spark mode needs a Spark session");
        }
    }

    /** Replaces the step hook (tests observe what iteration each worker's updater sees). */
    public PretrainJob withHook(GlobalStepHook h) {
        this.hook = h;
        return this;
    }

    public Result run() throws IOException {
        Configuration hadoop = spark != null ? spark.sparkContext().hadoopConfiguration() : Stores.hadoopConfiguration();
        ArtifactStore dataStore = Stores.directory(data);
        byte[] manifestBytes;
        if (!dataStore.exists(DatasetManifest.FILE)) {
            throw new IllegalArgumentException(dataStore.uri(DatasetManifest.FILE) + " not found: prepare the data set first (bit prepare)");
        }
        try (InputStream in = dataStore.open(DatasetManifest.FILE)) {
            manifestBytes = in.readAllBytes();
        }
        DatasetManifest manifest = DatasetManifest.read(new ByteArrayInputStream(manifestBytes), dataStore.uri(DatasetManifest.FILE));
        String manifestHash = DatasetManifest.hash(manifestBytes);
        List<String> trainShards = manifest.train().stream().map(s -> dataStore.uri(s.path())).toList();
        List<String> holdoutShards = manifest.holdout().stream().map(s -> dataStore.uri(s.path())).toList();
        long[] rows = manifest.train().stream().mapToLong(DatasetManifest.Shard::rows).toArray();

        int workers = cfg.workers() > 0 ? cfg.workers() : spark != null ? spark.sparkContext().defaultParallelism() : 1;
        if (cfg.globalBatch() % workers != 0) {
            throw new IllegalArgumentException("bit.train.global_batch (" + cfg.globalBatch() + ") must be a multiple of the "
                    + workers + " workers");
        }
        int perWorker = cfg.globalBatch() / workers;
        BatchPlan plan = new BatchPlan(trainShards, rows, perWorker, workers, cfg.seed());
        long stepsPerEpoch = plan.stepsPerEpoch();
        long totalSteps = cfg.totalSteps(stepsPerEpoch);
        LossKind loss = cfg.lossFor(manifest.multiLabel());
        ResNetV2Spec spec = ResNetV2Presets.get(cfg.modelPreset()).withClasses(manifest.numClasses());
        UpstreamSchedule schedule = new UpstreamSchedule(cfg.peakLr(), cfg.warmupSteps(), cfg.decaySteps(stepsPerEpoch), cfg.decayFactor());
        Augment.Config aug = new Augment.Config(cfg.resolution(), cfg.cropMinArea(), 3.0 / 4, 4.0 / 3, cfg.flip());

        Map<String, Object> resolved = new LinkedHashMap<>(cfg.resolved());
        resolved.put("run.data", data);
        resolved.put("run.workers", workers);
        resolved.put("run.batch_per_worker", perWorker);
        resolved.put("run.steps_per_epoch", stepsPerEpoch);
        resolved.put("run.total_steps", totalSteps);
        resolved.put("run.peak_lr", cfg.peakLr());
        resolved.put("run.mode", mode.name().toLowerCase(Locale.ROOT));
        resolved.put("loss", loss.name());
        LOG.info("pre-training {} ({} parameters) on {} ({} train images, {} classes, {}), {} workers x {} images, "
                        + "{} steps/epoch, {} steps, {}, resolved config {}",
                spec.name(), ResNetV2Builder.parameterCount(spec), data, manifest.trainRows(), manifest.numClasses(),
                loss, workers, perWorker, stepsPerEpoch, totalSteps, schedule, resolved);

        ArtifactStore run = Stores.directory(output);
        ComputationGraph net;
        long step;
        String latest = latestCheckpoint(run);
        if (resume && latest != null) {
            ProjectCheckpoint.Loaded l = ProjectCheckpoint.read(run, latest, true);
            Provenance p = l.provenance();
            if (!manifestHash.equals(p.dataManifestHash())) {
                throw new CheckpointException(run.uri(latest) + " was trained on data " + p.dataManifestHash() + ", but "
                        + data + " is " + manifestHash + ": resume needs the same prepared data set");
            }
            if (!spec.equals(p.spec())) {
                throw new CheckpointException(run.uri(latest) + " holds " + p.spec() + ", the configuration asks for " + spec);
            }
            net = l.net();
            step = p.globalStep();
            LOG.info("resuming from {} at global step {} (epoch {})", run.uri(latest), step, p.epoch());
        } else {
            if (latest != null) {
                throw new IllegalArgumentException(run.uri("checkpoints") + " already holds checkpoints: pass --resume to "
                        + "continue that run, or choose another --output");
            }
            Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
            net = ResNetV2Builder.build(spec, ModelOptions.defaults()
                    .withLoss(loss)
                    .withSeed(cfg.seed())
                    .withUpdater(new SgdMomentum(schedule, cfg.momentum()))
                    .withWeightDecay(cfg.weightDecay())
                    .withInputSize(cfg.resolution(), cfg.resolution()));
            step = 0;
        }
        net.getConfiguration().setIterationCount(Math.toIntExact(step));
        net.getConfiguration().setEpochCount(Math.toIntExact(step / stepsPerEpoch));

        ShardBatchLoader trainLoader = new ShardBatchLoader(hadoop, aug, manifest.numClasses(), cfg.seed(), true);
        ShardBatchLoader evalLoader = new ShardBatchLoader(hadoop, aug, manifest.numClasses(), cfg.seed(), false);
        HoldoutEvaluator evaluator = new HoldoutEvaluator(holdoutShards, manifest, evalLoader, loss, cfg.evalMaxExamples(), cfg.evalBatch());
        MetricsLog metrics = new MetricsLog(run, step);

        SparkComputationGraph sparkNet = null;
        JavaSparkContext jsc = null;
        int freq = mode == Mode.SPARK ? cfg.averagingFrequency() : 1;
        if (mode == Mode.SPARK) {
            jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            ParameterAveragingTrainingMaster tm = new ParameterAveragingTrainingMaster.Builder(workers, perWorker)
                    .batchSizePerWorker(perWorker)
                    .averagingFrequency(freq)
                    .repartionData(Repartition.Never)
                    .workerPrefetchNumBatches(0)
                    // dl4j-spark's default is false despite its documentation: momentum would restart every round.
                    .saveUpdater(true)
                    .rngSeed(cfg.seed())
                    .trainingHooks(hook)
                    .build();
            sparkNet = new SparkComputationGraph(jsc, net, tm);
        }

        long t0 = System.nanoTime();
        long lastLogTime = t0;
        long lastLogStep = step;
        long startStep = step;
        Map<String, Double> lastEval = Map.of();
        String lastCheckpoint = latest == null ? null : run.uri(latest);
        double rate = 0;
        while (step < totalSteps) {
            int k = (int) Math.min(freq, totalSteps - step);
            long epoch = step / stepsPerEpoch;
            double score;
            if (mode == Mode.SPARK) {
                List<String> refs = new ArrayList<>(workers * k);
                // parallelize() slices the list into contiguous runs: worker w gets its batch of each local step.
                for (int w = 0; w < workers; w++) {
                    for (int j = 0; j < k; j++) {
                        BatchPlan.Batch b = plan.step(step + j).get(w);
                        refs.add(new BatchRef(trainShards.get(b.shard()), b.from(), b.count(), (step + j) / stepsPerEpoch).encode());
                    }
                }
                hook.set(step, epoch);
                jsc.setJobDescription(String.format(Locale.ROOT, "pretrain: steps %d-%d of %d", step + 1, step + k, totalSteps));
                JavaRDD<String> paths = jsc.parallelize(refs, workers);
                sparkNet.fitPaths(paths, trainLoader);
                paths.unpersist(false);
                net = sparkNet.getNetwork();
                score = sparkNet.getScore();
            } else {
                List<DataSet> parts = new ArrayList<>(workers);
                for (BatchPlan.Batch b : plan.step(step)) {
                    parts.add(trainLoader.load(new BatchRef(trainShards.get(b.shard()), b.from(), b.count(), epoch)));
                }
                DataSet batch = DataSet.merge(parts);
                net.getConfiguration().setIterationCount(Math.toIntExact(step));
                net.fit(batch);
                score = net.score();
            }
            step += k;
            // The Spark module adds one epoch per call and the averaging frequency to the iteration count.
            net.getConfiguration().setIterationCount(Math.toIntExact(step));
            net.getConfiguration().setEpochCount(Math.toIntExact(step / stepsPerEpoch));
            if (!Double.isFinite(score)) {
                throw new IllegalStateException(String.format(Locale.ROOT, "loss is %s at global step %d: stopping. The last good "
                        + "checkpoint is %s; lower bit.train.base_lr or check the data before resuming.", score, step,
                        lastCheckpoint == null ? "none (no checkpoint was written yet)" : lastCheckpoint));
            }
            boolean last = step >= totalSteps;
            Map<String, Double> eval = Map.of();
            if (crossed(step, k, cfg.evalEvery()) || last) {
                eval = evaluator.evaluate(net);
                lastEval = eval;
            }
            if (crossed(step, k, cfg.logEvery()) || last || !eval.isEmpty()) {
                long now = System.nanoTime();
                rate = (step - lastLogStep) * (double) cfg.globalBatch() / ((now - lastLogTime) / 1e9);
                lastLogTime = now;
                lastLogStep = step;
                Map<String, Object> rec = new LinkedHashMap<>();
                rec.put("step", step);
                rec.put("epoch", step / (double) stepsPerEpoch);
                rec.put("loss", score);
                rec.put("lr", schedule.lr(step - 1));
                rec.put("images_per_sec", rate);
                rec.putAll(eval);
                rec.put("wall_time", (now - t0) / 1e9);
                metrics.add(rec);
                double elapsed = (now - t0) / 1e9;
                double eta = (totalSteps - step) * elapsed / Math.max(1, step - startStep);
                LOG.info(String.format(Locale.ROOT, "step %d/%d (epoch %.2f): loss %.4f, lr %.5f, %.1f images/s%s, ETA %s",
                        step, totalSteps, step / (double) stepsPerEpoch, score, schedule.lr(step - 1), rate,
                        eval.isEmpty() ? "" : ", " + eval, Duration.ofSeconds(Math.round(eta)).toString().substring(2).toLowerCase(Locale.ROOT)));
            }
            if (crossed(step, k, cfg.checkpointEvery()) || last) {
                String dir = String.format(Locale.ROOT, "checkpoints/step-%08d", step);
                Provenance p = Provenance.create("pretrain", spec, resolved, cfg.seed(), step, step / stepsPerEpoch,
                        manifestHash, manifest.classNames(), null);
                ProjectCheckpoint.write(run, dir, net, p, true);
                lastCheckpoint = run.uri(dir);
                LOG.info("checkpoint {}", lastCheckpoint);
                prune(run, cfg.keepCheckpoints());
            }
        }
        return new Result(net, step, stepsPerEpoch, lastEval, lastCheckpoint, rate);
    }

    /** True when a round that ended at {@code step} after {@code k} steps crossed a multiple of {@code every}. */
    static boolean crossed(long step, int k, long every) {
        return step / every > (step - k) / every;
    }

    /** The newest complete checkpoint directory (relative to the run), or null. */
    static String latestCheckpoint(ArtifactStore run) throws IOException {
        String best = null;
        long bestStep = -1;
        for (String name : run.list("checkpoints")) {
            Matcher m = STEP_DIR.matcher(name);
            if (m.matches() && Long.parseLong(m.group(1)) > bestStep && ProjectCheckpoint.isComplete(run, "checkpoints/" + name)) {
                bestStep = Long.parseLong(m.group(1));
                best = "checkpoints/" + name;
            }
        }
        return best;
    }

    /** Keeps the newest {@code keep} complete checkpoints; removes older ones and older incomplete leftovers. */
    static void prune(ArtifactStore run, int keep) throws IOException {
        List<long[]> complete = new ArrayList<>();
        List<String> names = run.list("checkpoints");
        for (String name : names) {
            Matcher m = STEP_DIR.matcher(name);
            if (m.matches() && ProjectCheckpoint.isComplete(run, "checkpoints/" + name)) {
                complete.add(new long[] {Long.parseLong(m.group(1))});
            }
        }
        complete.sort((a, b) -> Long.compare(b[0], a[0]));
        if (complete.size() <= keep) {
            return;
        }
        long oldestKept = complete.get(keep - 1)[0];
        for (String name : names) {
            Matcher m = STEP_DIR.matcher(name);
            if (m.matches() && Long.parseLong(m.group(1)) < oldestKept) {
                run.delete("checkpoints/" + name);
            }
        }
    }
}
