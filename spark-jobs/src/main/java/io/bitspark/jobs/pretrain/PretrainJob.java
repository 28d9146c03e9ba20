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

import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.bitspark.data.manifest.DatasetManifest;
import io.bitspark.data.shards.BatchPlan;
import io.bitspark.data.shards.PreparedDataset;
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
import io.bitspark.data.image.Augment;
import io.bitspark.model.run.MetricsLog;
import io.bitspark.model.run.RunDirectory;
import io.bitspark.model.run.RunLock;
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
        String resumedFrom;
        List<String> setAside = List.of();
        int checkpointRetries;

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

        /** The checkpoint the run continued from, or null for a new run. */
        public String resumedFrom() {
            return resumedFrom;
        }

        /** Checkpoint writes that failed and were retried. */
        public int checkpointRetries() {
            return checkpointRetries;
        }

        /** Newer checkpoints that failed verification on resume (renamed *.corrupt), with the reasons. */
        public List<String> setAside() {
            return setAside;
        }
    }

    private final SparkSession spark;
    private final PretrainConfig cfg;
    private final String data;
    private final String output;
    private final boolean resume;
    private final Mode mode;
    private GlobalStepHook hook = new GlobalStepHook();
    private boolean allowConfigChange;

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

    /** On resume, let schedule settings (base lr, warmup, decays, epochs, global batch, seed) differ from the checkpoint's. */
    public PretrainJob allowConfigChange(boolean allow) {
        this.allowConfigChange = allow;
        return this;
    }

    public Result run() throws IOException {
        Configuration hadoop = spark != null ? spark.sparkContext().hadoopConfiguration() : Stores.hadoopConfiguration();
        PreparedDataset dataset = PreparedDataset.open(data, hadoop);
        DatasetManifest manifest = dataset.manifest();
        String manifestHash = dataset.manifestHash();

        int workers = mode == Mode.SINGLE_PROCESS ? (cfg.workers() > 0 ? cfg.workers() : 1)
                : cfg.workers() > 0 ? cfg.workers() : spark.sparkContext().defaultParallelism();
        int micro = cfg.microBatches();
        if (cfg.globalBatch() % (workers * micro) != 0) {
            throw new IllegalArgumentException("bit.train.global_batch (" + cfg.globalBatch() + ") must be a multiple of the "
                    + workers + " workers x " + micro + " micro-batches");
        }
        BatchPlan plan = dataset.plan(cfg.globalBatch(), cfg.seed());
        long stepsPerEpoch = plan.stepsPerEpoch();
        long totalSteps = cfg.totalSteps(stepsPerEpoch);
        LossKind loss = cfg.lossFor(manifest.multiLabel());
        ResNetV2Spec spec = ResNetV2Presets.get(cfg.modelPreset()).withClasses(manifest.numClasses());
        UpstreamSchedule schedule = cfg.schedule(stepsPerEpoch);
        Augment.Config aug = Augment.Config.inception(cfg.resolution(), cfg.cropMinArea(), cfg.flip());
        String engineName = (mode == Mode.SINGLE_PROCESS ? TrainingEngine.Kind.SINGLE_PROCESS : cfg.engine()).toString();
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

        RunDirectory run = new RunDirectory(Stores.directory(output, hadoop));
        try (RunLock lock = run.lock("bit pretrain --output " + output, Duration.ofSeconds(cfg.lockTimeoutSeconds()))) {
            long step = 0;
            RunDirectory.Sound sound = null;
            if (resume) {
                List<RunDirectory.Checkpoint> all = run.checkpoints();
                sound = run.newestSound();
                if (sound == null && !all.isEmpty()) {
                    throw new CheckpointException(run.uri(RunDirectory.CHECKPOINTS) + ": none of the " + all.size() + " checkpoints "
                            + "verifies (they were set aside as *.corrupt, see the log); remove them to start over, or use another --output");
                }
            } else if (run.hasCheckpoints()) {
                throw new IllegalArgumentException(run.uri(RunDirectory.CHECKPOINTS) + " already holds checkpoints: pass --resume to "
                        + "continue that run, or choose another --output");
            }
            Provenance resumed = sound == null ? null : sound.provenance();
            String latest = sound == null ? null : sound.checkpoint().dir();
            if (resumed != null) {
                if (!manifestHash.equals(resumed.dataManifestHash())) {
                    throw new CheckpointException(run.uri(latest) + " was trained on data " + resumed.dataManifestHash() + ", but "
                            + data + " is " + manifestHash + ": resume needs the same prepared data set");
                }
                if (!spec.equals(resumed.spec())) {
                    throw new CheckpointException(run.uri(latest) + " holds " + resumed.spec() + ", the configuration asks for " + spec);
                }
                step = resumed.globalStep();
                resolved.putAll(lineage(resumed, step, run.uri(latest)));
                Object before = resumed.config() == null ? null : resumed.config().get("run.workers");
                LOG.info("resuming from {} at global step {} (epoch {}){}{}", run.uri(latest), step, resumed.epoch(),
                        before != null && !String.valueOf(before).equals(String.valueOf(workers))
                                ? "; the worker count changed from " + before + " to " + workers + " (the data order does not depend on it)"
                                : "",
                        sound.setAside().isEmpty() ? "" : "; fell back past " + sound.setAside().size() + " newer checkpoint(s) that did "
                                + "not verify: " + sound.setAside());
            }

            ShardBatchLoader trainLoader = new ShardBatchLoader(hadoop, aug, manifest.numClasses(), cfg.seed(), true);
            ShardBatchLoader evalLoader = new ShardBatchLoader(hadoop, aug, manifest.numClasses(), cfg.seed(), false);
            HoldoutEvaluator evaluator = new HoldoutEvaluator(dataset.inOrder(PreparedDataset.Split.HOLDOUT,
                    cfg.evalMaxExamples(), cfg.evalBatch()), evalLoader, loss);
            String runId = manifestHash.substring(0, 12) + "-" + Long.toHexString(System.nanoTime()) + "-"
                    + Integer.toHexString(output.hashCode());
            FewShotEvaluator fewshot = cfg.fewshotEvery() == 0 ? null : FewShotEvaluator.open(cfg.fewshotData(), hadoop, cfg.resolution(),
                    cfg.fewshotShots().stream().mapToInt(Integer::intValue).toArray(), cfg.fewshotSeeds(), cfg.seed(),
                    cfg.fewshotMaxExamples(), cfg.evalBatch(), cfg.fewshotRidge());
            if (fewshot != null) {
                LOG.info("few-shot evaluation every {} steps on {} ({} images per evaluation), shots {}, {} draws each",
                        cfg.fewshotEvery(), fewshot.taskNames(), fewshot.images(), cfg.fewshotShots(), cfg.fewshotSeeds());
            }
            EngineContext ctx = new EngineContext(runId, spec, loss, cfg.headBiasFor(loss), cfg.seed(), cfg.resolution(),
                    cfg.weightDecay(), schedule, cfg.momentum(), cfg.gradClipNorm(), plan, stepsPerEpoch, trainLoader, evaluator, fewshot, workers, micro, freq, output,
                    EngineContext.conf(hadoop), cfg.exchangeTimeoutSeconds() * 1000, cfg.exchangeDtype() == PretrainConfig.ExchangeDtype.BFLOAT16);
            long first = step;
            try (MetricsLog metrics = retry("opening the metrics log", null, () -> run.metrics(first, cfg.syncEvery()));
                 TrainingEngine engine = engine(ctx, run.store(), latest, resumed)) {
                LOG.info("metrics: {} (attempt {} of this run)", metrics.path(), metrics.attempt());
                Result r = loop(engine, ctx, run, lock, step, totalSteps, stepsPerEpoch, spec, resolved, manifestHash, manifest, metrics,
                        latest == null ? null : run.uri(latest));
                r.resumedFrom = latest == null ? null : run.uri(latest);
                r.setAside = sound == null ? List.of() : sound.setAside();
                return r;
            }
        }
    }

    /**
     * Checks the settings against those of the checkpoint a run resumes from: model and data settings cannot change;
     * schedule settings change only with {@link #allowConfigChange}, and then the change joins the run's lineage
     * ({@code run.lineage} in every later checkpoint's provenance). Returns the entries to record.
     */
    private Map<String, Object> lineage(Provenance resumed, long step, String from) {
        List<PretrainConfig.Change> changes = cfg.changesFrom(resumed.config());
        List<PretrainConfig.Change> fixed = changes.stream().filter(c -> PretrainConfig.FIXED.contains(c.key())).toList();
        if (!fixed.isEmpty()) {
            throw new IllegalArgumentException("cannot resume " + from + " with " + fixed + ": these settings define the model and "
                    + "its data; start a new run (--output) instead");
        }
        if (!changes.isEmpty() && !allowConfigChange) {
            throw new IllegalArgumentException("the settings differ from those of " + from + ": " + changes + ". Pass "
                    + "--allow-config-change to continue with the new values from step " + step + ", or resume with the old ones");
        }
        List<Object> lineage = new ArrayList<>();
        if (resumed.config() != null && resumed.config().get("run.lineage") instanceof List<?> l) {
            lineage.addAll(l);
        }
        if (!changes.isEmpty()) {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("step", step);
            entry.put("from_checkpoint", from);
            Map<String, Object> diff = new LinkedHashMap<>();
            for (PretrainConfig.Change c : changes) {
                diff.put(c.key(), Map.of("before", String.valueOf(c.before()), "after", String.valueOf(c.now())));
            }
            entry.put("changes", diff);
            lineage.add(entry);
            LOG.warn("resuming with changed settings from step {}: {} (--allow-config-change; recorded in the provenance as run.lineage)",
                    step, changes);
        }
        return lineage.isEmpty() ? Map.of() : Map.of("run.lineage", lineage);
    }

    /** An action on the run's storage. */
    interface StoreAction<T> {
        T run() throws IOException;
    }

    /**
     * Runs {@code action}, retrying a failure {@code bit.checkpoint.write_attempts - 1} times with back-off (1, 2, 4 ... s)
     * before the run stops, naming the last good checkpoint.
     */
    <T> T retry(String what, String lastCheckpoint, StoreAction<T> action) {
        for (int attempt = 1; ; attempt++) {
            try {
                return action.run();
            } catch (IOException e) {
                if (attempt >= cfg.writeAttempts()) {
                    throw new IllegalStateException(what + " failed " + attempt + " times (" + e + "): stopping. The last good checkpoint is "
                            + (lastCheckpoint == null ? "none" : lastCheckpoint) + "; resume from it with --resume.", e);
                }
                long wait = 1000L << Math.min(attempt - 1, 6);
                LOG.warn("{} failed (attempt {} of {}): {}; retrying in {} s", what, attempt, cfg.writeAttempts(), e.toString(), wait / 1000);
                sleep(wait);
            }
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private TrainingEngine engine(EngineContext ctx, ArtifactStore run, String latest, Provenance resumed) throws IOException {
        if (mode == Mode.SINGLE_PROCESS || cfg.engine() == TrainingEngine.Kind.DL4J_PARAMAVG) {
            ComputationGraph net;
            if (resumed != null) {
                net = ProjectCheckpoint.read(run, latest, true).net();
                // The schedule of this configuration drives the rest of the run (model.zip holds the one it was written with).
                net.setLearningRate(ctx.schedule());
            } else {
                net = ctx.newNetwork();
            }
            net.getConfiguration().setIterationCount(Math.toIntExact(resumed == null ? 0 : resumed.globalStep()));
            net.getConfiguration().setEpochCount(Math.toIntExact(ctx.epochOf(resumed == null ? 0 : resumed.globalStep())));
            return mode == Mode.SINGLE_PROCESS ? new SingleProcessEngine(ctx, net)
                    : new ParamAvgEngine(JavaSparkContext.fromSparkContext(spark.sparkContext()), ctx, net, hook);
        }
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        // Before the first step: every executor checks its device and decodes the first rows of the data as the driver
        // does; one that cannot train, or would train on other pixels, stops the run here.
        io.bitspark.jobs.ExecutorChecks.InputProbe probe = new io.bitspark.jobs.ExecutorChecks.InputProbe(ctx.trainLoader(),
                ctx.plan().batch(0, 0, Math.min(4, ctx.globalBatch())));
        List<io.bitspark.jobs.ExecutorChecks.Row> rows = io.bitspark.jobs.ExecutorChecks.run(jsc, probe);
        LOG.info("executors:\n{}", io.bitspark.jobs.ExecutorChecks.table(rows));
        for (io.bitspark.jobs.ExecutorChecks.Row row : rows) {
            if (row.problem() != null) {
                throw new IllegalStateException("executor " + row.executor() + " on " + row.host() + " cannot train: " + row.problem()
                        + " (bit doctor --executors shows every node)");
            }
        }
        return new AllReduceEngine(jsc, ctx, resumed == null ? null : latest);
    }

    private Result loop(TrainingEngine engine, EngineContext ctx, RunDirectory run, RunLock lock, long step, long totalSteps,
                        long stepsPerEpoch, ResNetV2Spec spec, Map<String, Object> resolved, String manifestHash,
                        DatasetManifest manifest, MetricsLog metrics, String lastCheckpoint) throws IOException {
        long t0 = System.nanoTime();
        long lastLogTime = t0;
        long lastLogStep = step;
        long startStep = step;
        Map<String, Double> lastEval = Map.of();
        double rate = 0;
        double lossSum = 0;
        int lossCount = 0;
        double gradSum = 0;
        double gradMax = 0;
        int gradCount = 0;
        int clipped = 0;
        double paramNorm = Double.NaN;
        int freq = ctx.averagingFrequency();
        int retries = 0;
        long fewshotEvery = cfg.fewshotEvery() > 0 ? cfg.fewshotEvery() : Long.MAX_VALUE / 2;
        if (cfg.fewshotEvery() > 0 && step == 0) {
            // The baseline: what the freshly initialised network's features give.
            TrainingEngine.Round round = engine.run(new TrainingEngine.RoundRequest(0, 0, false, true, null, false));
            Map<String, Object> rec = new LinkedHashMap<>();
            rec.put("step", 0L);
            rec.put("epoch", 0.0);
            rec.putAll(round.eval());
            rec.put("wall_time", (System.nanoTime() - t0) / 1e9);
            retry("writing metrics to " + metrics.path(), lastCheckpoint, () -> {
                metrics.add(rec);
                return null;
            });
            LOG.info("few-shot at step 0 (initialisation): {}", round.eval());
        }
        while (step < totalSteps) {
            lock.check();
            // A round ends at the next step that logs, evaluates or checkpoints (whole averaging periods).
            long end = Math.min(totalSteps, Math.min(Math.min(next(step, cfg.logEvery()), next(step, fewshotEvery)),
                    Math.min(next(step, cfg.evalEvery()), next(step, cfg.checkpointEvery()))));
            if (freq > 1) {
                end = Math.min(totalSteps, step + ((end - step + freq - 1) / freq) * freq);
            }
            int k = (int) (end - step);
            boolean last = end >= totalSteps;
            boolean evaluate = crossed(end, k, cfg.evalEvery()) || last;
            boolean fewshot = cfg.fewshotEvery() > 0 && (crossed(end, k, fewshotEvery) || last);
            TrainingEngine.CheckpointRequest ck = null;
            if (crossed(end, k, cfg.checkpointEvery()) || last) {
                Provenance p = Provenance.of(Provenance.Kind.PRETRAIN, spec).config(resolved).seed(cfg.seed())
                        .position(end, end / stepsPerEpoch).data(manifestHash, manifest.classNames()).parent(lastCheckpoint).build();
                ck = new TrainingEngine.CheckpointRequest(RunDirectory.checkpointDir(end), p.toJson());
            }
            TrainingEngine.Round round = engine.run(new TrainingEngine.RoundRequest(step, k, evaluate, fewshot, ck, last));
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
                if (round.from() + i >= step) { // recomputed steps were counted before
                    lossSum += score;
                    lossCount++;
                    if (round.gradNorms() != null) {
                        double g = round.gradNorms()[i];
                        gradSum += g;
                        gradMax = Math.max(gradMax, g);
                        gradCount++;
                        clipped += cfg.gradClipNorm() > 0 && g > cfg.gradClipNorm() ? 1 : 0;
                        paramNorm = round.paramNorms()[i];
                    }
                }
            }
            if (round.invalid() != null) {
                throw new IllegalStateException(String.format(Locale.ROOT, "non-finite parameters after global step %d (%s) although "
                                + "the loss was finite: stopping without evaluating or writing a checkpoint. The last good checkpoint "
                                + "is %s; lower bit.train.base_lr or check the data before resuming.", end, round.invalid(),
                        lastCheckpoint == null ? "none (no checkpoint was written yet)" : lastCheckpoint));
            }
            String written = round.checkpoint();
            String error = round.checkpointError();
            for (int attempt = 2; error != null && attempt <= cfg.writeAttempts(); attempt++) {
                long wait = 1000L << Math.min(attempt - 2, 6);
                LOG.warn("writing checkpoint {} failed (attempt {} of {}): {}; retrying in {} s", run.uri(ck.dir()), attempt - 1,
                        cfg.writeAttempts(), error, wait / 1000);
                sleep(wait);
                retries++;
                TrainingEngine.Round again = engine.run(new TrainingEngine.RoundRequest(end, 0, false, false, ck, last));
                written = again.checkpoint();
                error = again.checkpointError();
            }
            if (error != null) {
                throw new IllegalStateException(String.format(Locale.ROOT, "writing checkpoint %s failed %d times (%s): stopping. The "
                                + "last good checkpoint is %s; resume from it with --resume.", run.uri(ck.dir()), cfg.writeAttempts(), error,
                        lastCheckpoint == null ? "none (no checkpoint was written yet)" : lastCheckpoint));
            }
            step = end;
            Map<String, Double> eval = round.eval();
            if (!eval.isEmpty()) {
                lastEval = eval;
            }
            if (crossed(step, k, cfg.logEvery()) || last || !eval.isEmpty()) {
                long now = System.nanoTime();
                rate = (step - lastLogStep) * (double) cfg.globalBatch() / ((now - lastLogTime) / 1e9);
                double meanLoss = lossSum / Math.max(1, lossCount);
                Map<String, Object> rec = new LinkedHashMap<>();
                rec.put("step", step);
                rec.put("epoch", step / (double) stepsPerEpoch);
                rec.put("loss", meanLoss);
                rec.put("loss_last", round.losses()[round.losses().length - 1]);
                rec.put("steps_in_interval", step - lastLogStep);
                rec.put("lr", ctx.schedule().lr(step - 1));
                rec.put("images_per_sec", rate);
                if (gradCount > 0) {
                    rec.put("grad_norm", gradSum / gradCount);
                    rec.put("grad_norm_max", gradMax);
                    rec.put("param_norm", paramNorm);
                    if (cfg.gradClipNorm() > 0) {
                        rec.put("clipped_steps", clipped);
                    }
                }
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
                String good = written != null ? written : lastCheckpoint;
                retry("writing metrics to " + metrics.path(), good, () -> {
                    metrics.add(rec);
                    return null;
                });
                double elapsed = (now - t0) / 1e9;
                double eta = (totalSteps - step) * elapsed / Math.max(1, step - startStep);
                LOG.info(String.format(Locale.ROOT, "step %d/%d (epoch %.2f): loss %.4f (mean of %d steps), lr %.5f, %s%.1f images/s%s, "
                                + "ETA %s; per step: data %.3f s, compute %.3f s, exchange %.3f s, update %.3f s, scheduling %.3f s; "
                                + "%.1f MB sent per executor, %.1f KB through the driver",
                        step, totalSteps, step / (double) stepsPerEpoch, meanLoss, lossCount, ctx.schedule().lr(step - 1),
                        gradCount == 0 ? "" : String.format(Locale.ROOT, "grad norm %.3g (max %.3g%s), param norm %.4g, ", gradSum / gradCount,
                                gradMax, cfg.gradClipNorm() > 0 ? ", " + clipped + " clipped" : "", paramNorm), rate,
                        eval.isEmpty() ? "" : ", " + eval, Duration.ofSeconds(Math.round(eta)).toString().substring(2).toLowerCase(Locale.ROOT),
                        t.data(), t.compute(), t.exchange(), t.update(), t.scheduling(), b.executorSent() / 1e6,
                        (b.driverSent() + b.driverReceived()) / 1e3));
                if (!round.workers().isEmpty() && (last || round.from() == startStep || LOG.isDebugEnabled())) {
                    LOG.info("workers: {}", round.workers());
                }
                lastLogTime = now;
                lastLogStep = step;
                lossSum = 0;
                lossCount = 0;
                gradSum = 0;
                gradMax = 0;
                gradCount = 0;
                clipped = 0;
            }
            if (written != null) {
                lastCheckpoint = written;
                LOG.info("checkpoint {}", lastCheckpoint);
                String keepGood = lastCheckpoint;
                retry("pruning old checkpoints", keepGood, () -> {
                    run.prune(cfg.keepCheckpoints());
                    return null;
                });
            }
        }
        Result result = new Result(engine, step, stepsPerEpoch, lastEval, lastCheckpoint, rate);
        result.checkpointRetries = retries;
        return result;
    }

    /** The first multiple of {@code every} after {@code step}. */
    static long next(long step, long every) {
        return (step / every + 1) * every;
    }

    /** True when a round that ended at {@code step} after {@code k} steps crossed a multiple of {@code every}. */
    static boolean crossed(long step, int k, long every) {
        return step / every > (step - k) / every;
    }

}
