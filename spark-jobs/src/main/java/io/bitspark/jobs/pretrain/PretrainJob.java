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
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.bitspark.data.manifest.DatasetManifest;
import io.bitspark.data.shards.BatchPlan;
import io.bitspark.jobs.engine.AllReduceEngine;
import io.bitspark.jobs.engine.EngineContext;
import io.bitspark.jobs.engine.ParamAvgEngine;
import io.bitspark.jobs.engine.SingleProcessEngine;
import io.bitspark.jobs.engine.TrainingEngine;
import io.bitspark.jobs.io.Stores;
import io.bitspark.model.arch.LossKind;
import io.bitspark.model.arch.ResNetV2Builder;
import io.bitspark.model.arch.ResNetV2Presets;
import io.bitspark.model.arch.ResNetV2Spec;
import io.bitspark.model.checkpoint.ArtifactStore;
import io.bitspark.model.checkpoint.CheckpointException;
import io.bitspark.model.checkpoint.ProjectCheckpoint;
import io.bitspark.model.checkpoint.Provenance;
import io.bitspark.model.data.Augment;
import io.bitspark.model.train.UpstreamSchedule;

/**
 * BiT upstream pre-training: a loop over rounds of global steps on a {@link TrainingEngine} (by default
 * synchronous data-parallel SGD with momentum over a sharded all-reduce among resident replicas on the
 * executors; dl4j-spark parameter averaging as a baseline; or the same steps in one process). With gradients
 * summed over all workers every step, W workers on b images each equal one step on W*b images. Each global
 * step's batch is a pure function of (manifest, seed, step), whatever the number of workers, decoded and
 * augmented where it is trained; the learning rate follows the global step; checkpoints carry everything to
 * resume exactly, on any number of workers.
 */
public final class PretrainJob {

    private static final Logger LOG = LoggerFactory.getLogger(PretrainJob.class);
    private static final Pattern STEP_DIR = Pattern.compile("^step-(\\d+)$");

    /** Where the steps run. */
    public enum Mode { SPARK, SINGLE_PROCESS }

    /** What a run ended with; the network is loaded from the last checkpoint when the engine kept it elsewhere. */
    public static final class Result {
        private final TrainingEngine engine;
        private final long steps;
        private final long stepsPerEpoch;
        private final Map<String, Double> lastEval;
        private final String lastCheckpoint;
        private final double imagesPerSecond;
        private ComputationGraph net;

        Result(TrainingEngine engine, long steps, long stepsPerEpoch, Map<String, Double> lastEval, String lastCheckpoint,
               double imagesPerSecond) {
            this.engine = engine;
            this.steps = steps;
            this.stepsPerEpoch = stepsPerEpoch;
            this.lastEval = lastEval;
            this.lastCheckpoint = lastCheckpoint;
            this.imagesPerSecond = imagesPerSecond;
        }

        public synchronized ComputationGraph net() throws IOException {
            if (net == null) {
                net = engine.network();
            }
            return net;
        }

        public long steps() {
            return steps;
        }

        public long stepsPerEpoch() {
            return stepsPerEpoch;
        }

        public Map<String, Double> lastEval() {
            return lastEval;
        }

        public String lastCheckpoint() {
            return lastCheckpoint;
        }

        public double imagesPerSecond() {
            return imagesPerSecond;
        }
    }

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

    /** Replaces the step hook of the dl4j-paramavg engine (tests observe what iteration each worker's updater sees). */
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

        int workers = mode == Mode.SINGLE_PROCESS ? (cfg.workers() > 0 ? cfg.workers() : 1)
                : cfg.workers() > 0 ? cfg.workers() : spark.sparkContext().defaultParallelism();
        int micro = cfg.microBatches();
        if (cfg.globalBatch() % (workers * micro) != 0) {
            throw new IllegalArgumentException("bit.train.global_batch (" + cfg.globalBatch() + ") must be a multiple of the "
                    + workers + " workers x " + micro + " micro-batches");
        }
        BatchPlan plan = new BatchPlan(trainShards, rows, cfg.globalBatch(), cfg.seed());
        long stepsPerEpoch = plan.stepsPerEpoch();
        long totalSteps = cfg.totalSteps(stepsPerEpoch);
        LossKind loss = cfg.lossFor(manifest.multiLabel());
        ResNetV2Spec spec = ResNetV2Presets.get(cfg.modelPreset()).withClasses(manifest.numClasses());
        UpstreamSchedule schedule = new UpstreamSchedule(cfg.peakLr(), cfg.warmupSteps(), cfg.decaySteps(stepsPerEpoch), cfg.decayFactor());
        Augment.Config aug = new Augment.Config(cfg.resolution(), cfg.cropMinArea(), 3.0 / 4, 4.0 / 3, cfg.flip());
        String engineName = mode == Mode.SINGLE_PROCESS ? "single-process" : cfg.engine();
        int freq = mode == Mode.SPARK ? cfg.averagingFrequency() : 1;

        Map<String, Object> resolved = new LinkedHashMap<>(cfg.resolved());
        resolved.put("run.data", data);
        resolved.put("run.workers", workers);
        resolved.put("run.batch_per_worker", cfg.globalBatch() / workers);
        resolved.put("run.batch_rows_per_piece", plan.unit());
        resolved.put("run.steps_per_epoch", stepsPerEpoch);
        resolved.put("run.total_steps", totalSteps);
        resolved.put("run.peak_lr", cfg.peakLr());
        resolved.put("run.mode", mode.name().toLowerCase(Locale.ROOT));
        resolved.put("run.engine", engineName);
        resolved.put("loss", loss.name());
        LOG.info("pre-training {} ({} parameters) on {} ({} train images, {} classes, {}), engine {}, {} workers x {} images "
                        + "({} micro-batches), {} steps/epoch, {} steps, {}, resolved config {}",
                spec.name(), ResNetV2Builder.parameterCount(spec), data, manifest.trainRows(), manifest.numClasses(),
                loss, engineName, workers, cfg.globalBatch() / workers, micro, stepsPerEpoch, totalSteps, schedule, resolved);

        ArtifactStore run = Stores.directory(output);
        long step;
        String latest = latestCheckpoint(run);
        Provenance resumed = null;
        if (resume && latest != null) {
            resumed = ProjectCheckpoint.readProvenance(run, latest);
            if (!manifestHash.equals(resumed.dataManifestHash())) {
                throw new CheckpointException(run.uri(latest) + " was trained on data " + resumed.dataManifestHash() + ", but "
                        + data + " is " + manifestHash + ": resume needs the same prepared data set");
            }
            if (!spec.equals(resumed.spec())) {
                throw new CheckpointException(run.uri(latest) + " holds " + resumed.spec() + ", the configuration asks for " + spec);
            }
            step = resumed.globalStep();
            Object before = resumed.config() == null ? null : resumed.config().get("run.workers");
            LOG.info("resuming from {} at global step {} (epoch {}){}", run.uri(latest), step, resumed.epoch(),
                    before != null && !String.valueOf(before).equals(String.valueOf(workers))
                            ? "; the worker count changed from " + before + " to " + workers + " (the data order does not depend on it)"
                            : "");
        } else {
            if (latest != null) {
                throw new IllegalArgumentException(run.uri("checkpoints") + " already holds checkpoints: pass --resume to "
                        + "continue that run, or choose another --output");
            }
            step = 0;
        }

        ShardBatchLoader trainLoader = new ShardBatchLoader(hadoop, aug, manifest.numClasses(), cfg.seed(), true);
        ShardBatchLoader evalLoader = new ShardBatchLoader(hadoop, aug, manifest.numClasses(), cfg.seed(), false);
        HoldoutEvaluator evaluator = new HoldoutEvaluator(holdoutShards, manifest, evalLoader, loss, cfg.evalMaxExamples(), cfg.evalBatch());
        String runId = manifestHash.substring(0, 12) + "-" + Long.toHexString(System.nanoTime()) + "-"
                + Integer.toHexString(output.hashCode());
        EngineContext ctx = new EngineContext(runId, spec, loss, cfg.seed(), cfg.resolution(), cfg.weightDecay(), schedule,
                cfg.momentum(), plan, trainShards, stepsPerEpoch, trainLoader, evaluator, workers, micro, freq, output,
                EngineContext.conf(hadoop), cfg.exchangeTimeoutSeconds() * 1000, cfg.exchangeDtype().equals("bfloat16"));
        MetricsLog metrics = new MetricsLog(run, step);

        try (TrainingEngine engine = engine(ctx, run, latest, resumed)) {
            return loop(engine, ctx, run, step, totalSteps, stepsPerEpoch, spec, resolved, manifestHash, manifest, metrics,
                    latest == null || resumed == null ? null : run.uri(latest));
        }
    }

    private TrainingEngine engine(EngineContext ctx, ArtifactStore run, String latest, Provenance resumed) throws IOException {
        if (mode == Mode.SINGLE_PROCESS || cfg.engine().equals("dl4j-paramavg")) {
            ComputationGraph net;
            if (resumed != null) {
                net = ProjectCheckpoint.read(run, latest, true).net();
            } else {
                net = ctx.newNetwork();
            }
            net.getConfiguration().setIterationCount(Math.toIntExact(resumed == null ? 0 : resumed.globalStep()));
            net.getConfiguration().setEpochCount(Math.toIntExact(ctx.epochOf(resumed == null ? 0 : resumed.globalStep())));
            return mode == Mode.SINGLE_PROCESS ? new SingleProcessEngine(ctx, net)
                    : new ParamAvgEngine(JavaSparkContext.fromSparkContext(spark.sparkContext()), ctx, net, hook);
        }
        return new AllReduceEngine(JavaSparkContext.fromSparkContext(spark.sparkContext()), ctx, resumed == null ? null : latest);
    }

    private Result loop(TrainingEngine engine, EngineContext ctx, ArtifactStore run, long step, long totalSteps, long stepsPerEpoch,
                        ResNetV2Spec spec, Map<String, Object> resolved, String manifestHash, DatasetManifest manifest,
                        MetricsLog metrics, String lastCheckpoint) throws IOException {
        long t0 = System.nanoTime();
        long lastLogTime = t0;
        long lastLogStep = step;
        long startStep = step;
        Map<String, Double> lastEval = Map.of();
        double rate = 0;
        int freq = ctx.averagingFrequency();
        while (step < totalSteps) {
            // A round ends at the next step that logs, evaluates or checkpoints (whole averaging periods).
            long end = Math.min(totalSteps, Math.min(next(step, cfg.logEvery()), Math.min(next(step, cfg.evalEvery()),
                    next(step, cfg.checkpointEvery()))));
            if (freq > 1) {
                end = Math.min(totalSteps, step + ((end - step + freq - 1) / freq) * freq);
            }
            int k = (int) (end - step);
            boolean last = end >= totalSteps;
            boolean evaluate = crossed(end, k, cfg.evalEvery()) || last;
            TrainingEngine.CheckpointRequest ck = null;
            if (crossed(end, k, cfg.checkpointEvery()) || last) {
                String dir = String.format(Locale.ROOT, "checkpoints/step-%08d", end);
                Provenance p = Provenance.create("pretrain", spec, resolved, cfg.seed(), end, end / stepsPerEpoch,
                        manifestHash, manifest.classNames(), null);
                ck = new TrainingEngine.CheckpointRequest(dir, p.toJson());
            }
            TrainingEngine.Round round = engine.run(new TrainingEngine.RoundRequest(step, k, evaluate, ck, last));
            // The first round sets the workers up (from the seed or the resumed checkpoint); a later one that had to
            // restore means state was lost (an executor, a failed round) and was rebuilt from the newest checkpoint.
            if (round.from() != step || (step != startStep && round.note() != null)) {
                LOG.warn("the workers lost their state and restored it from {} ({}); {}",
                        round.from() == 0 ? "the start" : "the checkpoint at step " + round.from(), round.note(),
                        round.from() < step ? "recomputed steps " + (round.from() + 1) + "-" + step : "nothing to recompute");
            }
            for (int i = 0; i < round.losses().length; i++) {
                double score = round.losses()[i];
                if (!Double.isFinite(score)) {
                    throw new IllegalStateException(String.format(Locale.ROOT, "loss is %s at global step %d: stopping. The last good "
                            + "checkpoint is %s; lower bit.train.base_lr or check the data before resuming.", score, round.from() + i + 1,
                            lastCheckpoint == null ? "none (no checkpoint was written yet)" : lastCheckpoint));
                }
            }
            step = end;
            double score = round.losses()[round.losses().length - 1];
            Map<String, Double> eval = round.eval();
            if (!eval.isEmpty()) {
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
                rec.put("lr", ctx.schedule().lr(step - 1));
                rec.put("images_per_sec", rate);
                rec.putAll(eval);
                TrainingEngine.Timings t = round.timings();
                rec.put("time_data", t.data());
                rec.put("time_compute", t.compute());
                rec.put("time_exchange", t.exchange());
                rec.put("time_update", t.update());
                rec.put("time_scheduling", t.scheduling());
                TrainingEngine.Traffic b = round.traffic();
                rec.put("bytes_executor_sent", b.executorSent());
                rec.put("bytes_executor_received", b.executorReceived());
                rec.put("bytes_driver_sent", b.driverSent());
                rec.put("bytes_driver_received", b.driverReceived());
                Runtime rt = Runtime.getRuntime();
                rec.put("driver_heap_used", rt.totalMemory() - rt.freeMemory());
                if (round.maxExecutorRss() > 0) {
                    rec.put("executor_rss_max", round.maxExecutorRss());
                }
                rec.put("wall_time", (now - t0) / 1e9);
                metrics.add(rec);
                double elapsed = (now - t0) / 1e9;
                double eta = (totalSteps - step) * elapsed / Math.max(1, step - startStep);
                LOG.info(String.format(Locale.ROOT, "step %d/%d (epoch %.2f): loss %.4f, lr %.5f, %.1f images/s%s, ETA %s; per step: "
                                + "data %.3f s, compute %.3f s, exchange %.3f s, update %.3f s, scheduling %.3f s; %.1f MB sent per executor, "
                                + "%.1f KB through the driver",
                        step, totalSteps, step / (double) stepsPerEpoch, score, ctx.schedule().lr(step - 1), rate,
                        eval.isEmpty() ? "" : ", " + eval, Duration.ofSeconds(Math.round(eta)).toString().substring(2).toLowerCase(Locale.ROOT),
                        t.data(), t.compute(), t.exchange(), t.update(), t.scheduling(), b.executorSent() / 1e6,
                        (b.driverSent() + b.driverReceived()) / 1e3));
                if (!round.workers().isEmpty() && (last || round.from() == startStep || LOG.isDebugEnabled())) {
                    LOG.info("workers: {}", round.workers());
                }
            }
            if (round.checkpoint() != null) {
                lastCheckpoint = round.checkpoint();
                LOG.info("checkpoint {}", lastCheckpoint);
                prune(run, cfg.keepCheckpoints());
            }
        }
        return new Result(engine, step, stepsPerEpoch, lastEval, lastCheckpoint, rate);
    }

    /** The first multiple of {@code every} after {@code step}. */
    static long next(long step, long every) {
        return (step / every + 1) * every;
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
