package io.bitspark.jobs.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

import io.bitspark.data.SparkTestSession;
import io.bitspark.data.TestImages;
import io.bitspark.data.image.ImageProcessor;
import io.bitspark.data.prepare.InputFormat;
import io.bitspark.data.prepare.PrepareConfig;
import io.bitspark.data.prepare.PrepareJob;
import io.bitspark.model.train.SgdMomentum;
import io.bitspark.model.train.UpstreamSchedule;

class PretrainJobTest {

    static SparkSession spark;
    static Path dataset;

    /** A small prepared data set: 4 classes of generated pictures, each class a distinct colour scheme. */
    @BeforeAll
    static void data(@TempDir Path tmp) throws Exception {
        spark = SparkTestSession.get();
        Path in = tmp.resolve("images");
        for (int c = 0; c < 4; c++) {
            Path d = Files.createDirectories(in.resolve("class" + c));
            for (int i = 0; i < 40; i++) {
                Files.write(d.resolve(i + ".jpg"), TestImages.jpeg(1000L * c + i, 40, 40));
            }
        }
        dataset = tmp.resolve("ds");
        new PrepareJob(spark, new PrepareConfig(in.toString(), InputFormat.IMAGEFOLDER, dataset.toString(),
                new ImageProcessor.Config(32, 90, 1 << 20, 1 << 22, 8), 1 << 20, 0.1, 1L, null, null, List.of(), 4, 0)).run();
    }

    static PretrainConfig config(String... overrides) {
        List<String> o = new java.util.ArrayList<>(List.of("model.preset=micro", "data.resolution=16", "train.global_batch=8",
                "train.workers=2", "train.warmup_steps=3", "train.base_lr=0.5", "train.decay_epochs=[0.2]",
                "checkpoint.every_steps=2", "eval.every_steps=1000", "eval.max_examples=16", "log.every_steps=1"));
        o.addAll(List.of(overrides));
        return PretrainConfig.load("local", o);
    }

    /** Records, per global step, the iteration and learning rate that each worker's updater used. */
    static final Map<Integer, Double> SEEN = new ConcurrentHashMap<>();

    static final class RecordingHook extends GlobalStepHook {
        @Override
        protected void observed(ComputationGraph g, int iteration) {
            SgdMomentum u = (SgdMomentum) ((org.deeplearning4j.nn.conf.layers.BaseLayer) g.getLayer("head/conv2d").conf().getLayer()).getIUpdater();
            SEEN.merge(iteration, u.getLearningRate(iteration, 0), (a, b) -> {
                assertEquals(a, b, "workers disagree on the learning rate of step " + iteration);
                return a;
            });
        }
    }

    static double maxAbsDiff(INDArray a, INDArray b) {
        return a.sub(b).amaxNumber().doubleValue();
    }

    static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(PretrainJobTest.class);

    /**
     * The all-reduce engine with 2 workers (1 and 2 micro-batches each) equals one process taking the combined
     * batch, after 6 steps through warmup and a decay, and the momentum in the checkpoint agrees too.
     */
    @Test
    void allReduceEqualsSingleProcessOnTheCombinedBatch(@TempDir Path tmp) throws Exception {
        PretrainJob.Result single = new PretrainJob(null, config("train.max_steps=6"), dataset.toString(), tmp.resolve("single").toString(),
                false, PretrainJob.Mode.SINGLE_PROCESS).run();
        double scale = single.net().params().amaxNumber().doubleValue();
        PretrainJob.Result untrained = new PretrainJob(null, config("train.max_steps=1"), dataset.toString(),
                tmp.resolve("one").toString(), false, PretrainJob.Mode.SINGLE_PROCESS).run();
        for (int micro : new int[] {1, 2}) {
            PretrainJob.Result distributed = new PretrainJob(spark, config("train.max_steps=6", "train.micro_batches=" + micro),
                    dataset.toString(), tmp.resolve("spark" + micro).toString(), false, PretrainJob.Mode.SPARK).run();
            assertEquals(6, distributed.steps());
            double diff = maxAbsDiff(distributed.net().params(), single.net().params());
            double mdiff = maxAbsDiff(distributed.net().getUpdater().getStateViewArray(), single.net().getUpdater().getStateViewArray());
            LOG.info("allreduce ({} micro-batches) vs single process after 6 steps: max |param diff| {}, max |momentum diff| {} (max |param| {})",
                    micro, diff, mdiff, scale);
            assertTrue(diff < 1e-5, "parameters differ by " + diff);
            assertTrue(mdiff < 1e-4, "momentum differs by " + mdiff);
            // The training moved the parameters well beyond that tolerance.
            assertTrue(maxAbsDiff(untrained.net().params(), single.net().params()) > 100 * Math.max(diff, 1e-6));
        }
    }

    /**
     * bfloat16 gradients on the wire: a quarter less traffic per step, and close to (not equal to) the exact run.
     */
    @Test
    void bfloat16GradientsCutTrafficAndStayClose(@TempDir Path tmp) throws Exception {
        PretrainJob.Result exact = new PretrainJob(spark, config("train.max_steps=6", "checkpoint.every_steps=100"), dataset.toString(),
                tmp.resolve("f32").toString(), false, PretrainJob.Mode.SPARK).run();
        PretrainJob.Result bf16 = new PretrainJob(spark, config("train.max_steps=6", "checkpoint.every_steps=100", "train.exchange_dtype=bfloat16"), dataset.toString(),
                tmp.resolve("bf16").toString(), false, PretrainJob.Mode.SPARK).run();
        double diff = maxAbsDiff(exact.net().params(), bf16.net().params());
        double scale = exact.net().params().amaxNumber().doubleValue();
        // Step 1 is a round of its own without a checkpoint (those add the momentum slices sent to worker 0).
        double sent32 = firstMetric(tmp.resolve("f32"), "bytes_executor_sent");
        double sent16 = firstMetric(tmp.resolve("bf16"), "bytes_executor_sent");
        LOG.info("bfloat16 gradients vs float32 after 6 steps: max |param diff| {} (max |param| {}); bytes sent per executor per step {} vs {}",
                diff, scale, sent16, sent32);
        assertTrue(diff > 0 && diff < 1e-2 * scale, "bfloat16 run differs by " + diff);
        assertEquals(0.75, sent16 / sent32, 0.01, "bytes per step, bfloat16 / float32");
    }

    static double firstMetric(Path run, String key) throws Exception {
        try (var files = Files.list(run.resolve("metrics"))) {
            for (Path f : files.sorted().toList()) {
                for (String line : Files.readAllLines(f)) {
                    var m = new com.fasterxml.jackson.databind.ObjectMapper().readTree(line);
                    if (m.has(key)) {
                        return m.get(key).asDouble();
                    }
                }
            }
        }
        return Double.NaN;
    }

    /**
     * dl4j-spark parameter averaging (the baseline engine) equals the single process too, and every worker's
     * updater used the schedule's learning rate at the global step.
     */
    @Test
    void paramAveragingBaselineEqualsSingleProcess(@TempDir Path tmp) throws Exception {
        SEEN.clear();
        PretrainConfig cfg = config("train.max_steps=6", "train.engine=dl4j-paramavg");
        PretrainJob.Result distributed = new PretrainJob(spark, cfg, dataset.toString(), tmp.resolve("spark").toString(),
                false, PretrainJob.Mode.SPARK).withHook(new RecordingHook()).run();
        PretrainJob.Result single = new PretrainJob(null, cfg, dataset.toString(), tmp.resolve("single").toString(),
                false, PretrainJob.Mode.SINGLE_PROCESS).run();
        double diff = maxAbsDiff(distributed.net().params(), single.net().params());
        LOG.info("dl4j-paramavg vs single process after 6 steps: max |param diff| {}", diff);
        assertTrue(diff < 1e-5, "parameters differ by " + diff);
        UpstreamSchedule schedule = (UpstreamSchedule) ((SgdMomentum) ((org.deeplearning4j.nn.conf.layers.BaseLayer) single.net().getLayer("head/conv2d").conf().getLayer())
                .getIUpdater()).getLearningRateSchedule();
        assertEquals(java.util.Set.of(0, 1, 2, 3, 4, 5), SEEN.keySet(), "iterations seen by the workers");
        for (int s = 0; s < 6; s++) {
            assertEquals(schedule.lr(s), SEEN.get(s), 1e-12, "lr at step " + s);
        }
        assertNotEquals(SEEN.get(1), SEEN.get(5), "the schedule moved (warmup, then a decay)");
    }

    /**
     * Stopped after step 3 and resumed, a run ends bitwise where an uninterrupted one does; resumed on another
     * number of workers it continues the same trajectory (equal up to float summation order).
     */
    @Test
    void resumeContinuesExactlyOnAnyWorkerCount(@TempDir Path tmp) throws Exception {
        PretrainJob.Result full = new PretrainJob(spark, config("train.max_steps=6"), dataset.toString(),
                tmp.resolve("full").toString(), false, PretrainJob.Mode.SPARK).run();
        PretrainJob.Result first = new PretrainJob(spark, config("train.max_steps=3"), dataset.toString(),
                tmp.resolve("split").toString(), false, PretrainJob.Mode.SPARK).run();
        assertEquals(3, first.steps());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new PretrainJob(spark,
                config("train.max_steps=6"), dataset.toString(), tmp.resolve("split").toString(), false, PretrainJob.Mode.SPARK).run());
        assertTrue(e.getMessage().contains("--resume"), e.getMessage());
        PretrainJob.Result resumed = new PretrainJob(spark, config("train.max_steps=6"), dataset.toString(),
                tmp.resolve("split").toString(), true, PretrainJob.Mode.SPARK).run();
        assertEquals(6, resumed.steps());
        assertEquals(0.0, maxAbsDiff(full.net().params(), resumed.net().params()), 0.0, "resume is bitwise");
        assertEquals(full.net().getUpdater().getStateViewArray(), resumed.net().getUpdater().getStateViewArray());
        // Checkpoints at 2, 4, 6 (and 3 from the stopped run); the newest three are kept.
        List<String> kept = new io.bitspark.model.checkpoint.LocalStore(tmp.resolve("split")).list("checkpoints");
        assertEquals(List.of("step-00000003", "step-00000004", "step-00000006"), kept);

        // The same run stopped at 3 on 2 workers, resumed on 1 worker, then on 2 micro-batches.
        new PretrainJob(spark, config("train.max_steps=3"), dataset.toString(), tmp.resolve("other").toString(), false,
                PretrainJob.Mode.SPARK).run();
        new PretrainJob(spark, config("train.max_steps=4", "train.workers=1"), dataset.toString(), tmp.resolve("other").toString(),
                true, PretrainJob.Mode.SPARK).run();
        PretrainJob.Result moved = new PretrainJob(spark, config("train.max_steps=6", "train.micro_batches=2"), dataset.toString(),
                tmp.resolve("other").toString(), true, PretrainJob.Mode.SPARK).run();
        double diff = maxAbsDiff(full.net().params(), moved.net().params());
        LOG.info("resumed on 1 worker, then 2 workers x 2 micro-batches, vs 2 workers throughout: max |param diff| {}", diff);
        assertTrue(diff < 1e-5, "parameters differ by " + diff);
    }

    /**
     * The newest checkpoint is corrupt but of the right size: resume sets it aside, says so, continues from the one
     * before, and ends bitwise where an uninterrupted run does.
     */
    @Test
    void resumeFallsBackPastACorruptNewestCheckpoint(@TempDir Path tmp) throws Exception {
        PretrainJob.Result full = new PretrainJob(spark, config("train.max_steps=6"), dataset.toString(),
                tmp.resolve("full").toString(), false, PretrainJob.Mode.SPARK).run();
        Path run = tmp.resolve("run");
        new PretrainJob(spark, config("train.max_steps=4"), dataset.toString(), run.toString(), false, PretrainJob.Mode.SPARK).run();
        io.bitspark.model.run.RunDirectoryTest.corrupt(run.resolve("checkpoints/step-00000004/model.zip"));
        PretrainJob.Result resumed = new PretrainJob(spark, config("train.max_steps=6"), dataset.toString(), run.toString(), true,
                PretrainJob.Mode.SPARK).run();
        assertTrue(resumed.resumedFrom().endsWith("checkpoints/step-00000002/"), resumed.resumedFrom());
        assertEquals(1, resumed.setAside().size());
        assertTrue(resumed.setAside().get(0).contains("step-00000004/model.zip: corrupt"), resumed.setAside().toString());
        assertEquals(0.0, maxAbsDiff(full.net().params(), resumed.net().params()), 0.0, "bitwise equal to the uninterrupted run");
        assertEquals(List.of("step-00000002", "step-00000004", "step-00000004.corrupt", "step-00000006"),
                new io.bitspark.model.checkpoint.LocalStore(run).list("checkpoints"));
        // The report reads the lineage: steps 3-4 of the first attempt are superseded by the second.
        List<Map<String, Object>> h = io.bitspark.model.run.MetricsLog.history(new io.bitspark.model.checkpoint.LocalStore(run));
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L), h.stream().map(r -> ((Number) r.get("step")).longValue()).toList());
        // A driver killed in the middle of a line: the report skips the cut line and shows everything before it.
        Files.writeString(run.resolve("metrics/attempt-0002-from-00000002.jsonl"), "{\"step\": 7, \"loss\": 0.3",
                java.nio.file.StandardOpenOption.APPEND);
        io.bitspark.jobs.report.RunReport.write(new io.bitspark.model.checkpoint.LocalStore(run));
        String html = Files.readString(run.resolve("report/index.html"));
        assertTrue(html.contains("6 logged steps, last step 6") && html.contains("Attempts") && html.contains("src=\"loss.png\""), html);
    }

    @Test
    void aSecondDriverOnALockedRunRefuses(@TempDir Path tmp) throws Exception {
        Path run = tmp.resolve("run");
        try (io.bitspark.model.run.RunLock other = io.bitspark.model.run.RunLock.acquire(new io.bitspark.model.checkpoint.LocalStore(run),
                "bit pretrain (the first driver)", java.time.Duration.ofMinutes(5))) {
            io.bitspark.model.run.RunLock.LockedException e = assertThrows(io.bitspark.model.run.RunLock.LockedException.class,
                    () -> new PretrainJob(null, config("train.max_steps=2"), dataset.toString(), run.toString(), true,
                            PretrainJob.Mode.SINGLE_PROCESS).run());
            assertTrue(e.getMessage().contains("in use by bit pretrain (the first driver) (pid " + ProcessHandle.current().pid()), e.getMessage());
            assertTrue(!Files.exists(run.resolve("checkpoints")) && !Files.exists(run.resolve("metrics")), "the second driver wrote nothing");
        }
        new PretrainJob(null, config("train.max_steps=2"), dataset.toString(), run.toString(), true, PretrainJob.Mode.SINGLE_PROCESS).run();
        assertTrue(!Files.exists(run.resolve("run.lock")), "released at the end");
    }

    /** A learning rate so large that step 1's update overflows: the loss of step 1 was finite, the weights are not. */
    @Test
    void nonFiniteWeightsAreNeverCheckpointed(@TempDir Path tmp) {
        for (PretrainJob.Mode mode : PretrainJob.Mode.values()) {
            Path run = tmp.resolve(mode.name());
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> new PretrainJob(mode == PretrainJob.Mode.SPARK ? spark : null,
                    config("train.max_steps=1", "train.base_lr=1e41", "train.warmup_steps=0"), dataset.toString(), run.toString(), false,
                    mode).run());
            assertTrue(e.getMessage().contains("non-finite parameters after global step 1") && e.getMessage().contains("without evaluating or "
                    + "writing a checkpoint") && e.getMessage().contains("The last good checkpoint is none"), e.getMessage());
            assertTrue(e.getMessage().matches("(?s).*\\(\\S+_\\w+\\[\\d+\\] = (NaN|-?Infinity)\\).*"), "names the parameter: " + e.getMessage());
            assertTrue(!Files.exists(run.resolve("checkpoints")), mode + ": no checkpoint written");
        }
    }

    /**
     * A resume with another base lr refuses; with --allow-config-change the new schedule is the one applied, by the
     * single process and by the all-reduce engine alike, and the one logged; the change is in the provenance.
     */
    @Test
    void aChangedLearningRateNeedsConsentAndThenDrivesTheRun(@TempDir Path tmp) throws Exception {
        Path single = tmp.resolve("single");
        Path spark2 = tmp.resolve("spark");
        new PretrainJob(null, config("train.max_steps=3"), dataset.toString(), single.toString(), false, PretrainJob.Mode.SINGLE_PROCESS).run();
        new PretrainJob(spark, config("train.max_steps=3"), dataset.toString(), spark2.toString(), false, PretrainJob.Mode.SPARK).run();
        PretrainConfig changed = config("train.max_steps=6", "train.base_lr=0.125");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new PretrainJob(null, changed, dataset.toString(),
                single.toString(), true, PretrainJob.Mode.SINGLE_PROCESS).run());
        assertTrue(e.getMessage().contains("bit.train.base_lr: 0.5 -> 0.125") && e.getMessage().contains("--allow-config-change"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new PretrainJob(null, config("train.max_steps=6", "data.flip=false"),
                dataset.toString(), single.toString(), true, PretrainJob.Mode.SINGLE_PROCESS).allowConfigChange(true).run());
        assertTrue(e.getMessage().contains("cannot resume") && e.getMessage().contains("bit.data.flip"), e.getMessage());

        PretrainJob.Result a = new PretrainJob(null, changed, dataset.toString(), single.toString(), true, PretrainJob.Mode.SINGLE_PROCESS)
                .allowConfigChange(true).run();
        PretrainJob.Result b = new PretrainJob(spark, changed, dataset.toString(), spark2.toString(), true, PretrainJob.Mode.SPARK)
                .allowConfigChange(true).run();
        UpstreamSchedule now = new UpstreamSchedule(changed.peakLr(), changed.warmupSteps(), changed.decaySteps(a.stepsPerEpoch()),
                changed.decayFactor());
        SgdMomentum applied = (SgdMomentum) ((org.deeplearning4j.nn.conf.layers.BaseLayer) a.net().getLayer("head/conv2d").conf().getLayer()).getIUpdater();
        for (int s = 3; s < 6; s++) {
            assertEquals(now.lr(s), applied.getLearningRate(s, 0), 1e-12, "lr the single process applies at step " + s);
        }
        double diff = maxAbsDiff(a.net().params(), b.net().params());
        PretrainJob.Result unchanged = new PretrainJob(null, config("train.max_steps=6"), dataset.toString(), tmp.resolve("old").toString(),
                false, PretrainJob.Mode.SINGLE_PROCESS).run();
        double effect = maxAbsDiff(a.net().params(), unchanged.net().params());
        LOG.info("resumed with base_lr 0.125: single process vs allreduce max |param diff| {}; vs the run at the old lr {}", diff, effect);
        assertTrue(diff < 1e-5, "the engines applied different learning rates: " + diff);
        assertTrue(effect > 100 * Math.max(diff, 1e-6), "the new lr changed the trajectory: " + effect);
        for (Path run : List.of(single, spark2)) {
            for (Map<String, Object> r : io.bitspark.model.run.MetricsLog.history(new io.bitspark.model.checkpoint.LocalStore(run))) {
                long step = ((Number) r.get("step")).longValue();
                if (step > 3) {
                    assertEquals(now.lr(step - 1), ((Number) r.get("lr")).doubleValue(), 1e-12, run + ": logged lr at step " + step);
                }
            }
            io.bitspark.model.checkpoint.Provenance p = io.bitspark.model.checkpoint.ProjectCheckpoint.readProvenance(
                    new io.bitspark.model.checkpoint.LocalStore(run), "checkpoints/step-00000006");
            String lineage = String.valueOf(p.config().get("run.lineage"));
            assertTrue(lineage.contains("train.base_lr") && lineage.contains("before=0.5") && lineage.contains("after=0.125")
                    && lineage.contains("step=3"), lineage);
        }
    }

    /**
     * A checkpoint write that fails (here: a file where the checkpoints folder goes, removed after a while) is retried
     * with back-off, by the single process and by the all-reduce engine (whose workers stay in step while worker 0
     * cannot write); when it keeps failing, the run stops naming the last good checkpoint.
     */
    @Test
    void failedCheckpointWritesAreRetried(@TempDir Path tmp) throws Exception {
        for (PretrainJob.Mode mode : PretrainJob.Mode.values()) {
            Path run = Files.createDirectories(tmp.resolve(mode.name()));
            Path blocker = Files.writeString(run.resolve("checkpoints"), "in the way");
            // Removed 1.5 s after step 1 was logged: the write at step 2 fails at least once, and a retry (after 1 + 2 s) finds the way free.
            Thread remover = new Thread(() -> {
                try {
                    Path log = run.resolve("metrics/attempt-0001-from-00000000.jsonl");
                    while (!Files.exists(log) || Files.size(log) == 0) {
                        Thread.sleep(20);
                    }
                    Thread.sleep(1500);
                    Files.delete(blocker);
                } catch (Exception ex) {
                    throw new IllegalStateException(ex);
                }
            });
            remover.start();
            PretrainJob.Result r = new PretrainJob(mode == PretrainJob.Mode.SPARK ? spark : null, config("train.max_steps=2"),
                    dataset.toString(), run.toString(), false, mode).run();
            remover.join();
            assertTrue(r.lastCheckpoint().endsWith("checkpoints/step-00000002/"), r.lastCheckpoint());
            assertTrue(r.checkpointRetries() > 0, mode + ": the write was retried");
            assertTrue(io.bitspark.model.checkpoint.ProjectCheckpoint.isVerified(new io.bitspark.model.checkpoint.LocalStore(run),
                    "checkpoints/step-00000002"));

            Path stuck = Files.createDirectories(tmp.resolve(mode.name() + "-stuck"));
            Files.writeString(stuck.resolve("checkpoints"), "in the way");
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> new PretrainJob(mode == PretrainJob.Mode.SPARK ? spark : null,
                    config("train.max_steps=2", "checkpoint.write_attempts=2"), dataset.toString(), stuck.toString(), false, mode).run());
            assertTrue(e.getMessage().contains("step-00000002 failed 2 times") && e.getMessage().contains("last good checkpoint is none"),
                    e.getMessage());
        }
    }

    static List<Map<String, Object>> history(Path run) throws Exception {
        return io.bitspark.model.run.MetricsLog.history(new io.bitspark.model.checkpoint.LocalStore(run));
    }

    static double num(Map<String, Object> r, String key) {
        return ((Number) r.get(key)).doubleValue();
    }

    /**
     * The logged gradient norm is the norm of the loss gradient averaged over the global batch (checked at step 1
     * against ND4J's norm2 of a fresh network's backprop on that batch); both engines log the same norms.
     */
    @Test
    void bothEnginesLogTheGlobalGradientAndParameterNorms(@TempDir Path tmp) throws Exception {
        PretrainConfig cfg = config("train.max_steps=4");
        new PretrainJob(null, cfg, dataset.toString(), tmp.resolve("single").toString(), false, PretrainJob.Mode.SINGLE_PROCESS).run();
        new PretrainJob(spark, cfg, dataset.toString(), tmp.resolve("spark").toString(), false, PretrainJob.Mode.SPARK).run();
        List<Map<String, Object>> a = history(tmp.resolve("single"));
        List<Map<String, Object>> b = history(tmp.resolve("spark"));
        assertEquals(4, a.size());
        for (int i = 0; i < 4; i++) {
            for (String k : new String[] {"grad_norm", "param_norm"}) {
                assertEquals(num(a.get(i), k), num(b.get(i), k), 1e-4 * num(a.get(i), k), k + " at step " + (i + 1));
            }
        }
        // The reference for step 1: backprop of the freshly initialised network on the first global batch, in ND4J.
        new PretrainJob(null, config("train.max_steps=1"), dataset.toString(), tmp.resolve("one").toString(),
                false, PretrainJob.Mode.SINGLE_PROCESS).run();
        io.bitspark.model.checkpoint.Provenance p = io.bitspark.model.checkpoint.ProjectCheckpoint.readProvenance(
                new io.bitspark.model.checkpoint.LocalStore(tmp.resolve("one")), "checkpoints/step-00000001");
        assertEquals(1, p.globalStep());
        ComputationGraph fresh = io.bitspark.model.arch.ResNetV2Builder.build(p.spec(), io.bitspark.model.arch.ModelOptions.defaults()
                .withSeed(cfg.seed()).withUpdater(new SgdMomentum(0.1, 0.9)).withWeightDecay(cfg.weightDecay()).withInputSize(16, 16));
        var prepared = io.bitspark.data.shards.PreparedDataset.open(dataset.toString(), io.bitspark.jobs.io.Stores.hadoopConfiguration());
        io.bitspark.data.shards.BatchPlan plan = prepared.plan(8, cfg.seed());
        ShardBatchLoader loader = new ShardBatchLoader(io.bitspark.jobs.io.Stores.hadoopConfiguration(),
                io.bitspark.data.image.Augment.Config.inception(16, cfg.cropMinArea(), cfg.flip()), prepared.numClasses(), cfg.seed(), true);
        org.nd4j.linalg.dataset.DataSet first = loader.load(plan.batch(0, 0, 8));
        fresh.setInputs(first.getFeatures());
        fresh.setLabels(first.getLabels());
        fresh.computeGradientAndScore();
        double reference = fresh.getFlattenedGradients().norm2Number().doubleValue() / 8;
        LOG.info("gradient norm at step 1: logged {} (single process), {} (allreduce); ND4J reference {}", num(a.get(0), "grad_norm"),
                num(b.get(0), "grad_norm"), reference);
        assertEquals(reference, num(a.get(0), "grad_norm"), 1e-4 * reference);
        assertEquals(reference, num(b.get(0), "grad_norm"), 1e-4 * reference);
        assertEquals(fresh.score(), num(history(tmp.resolve("one")).get(0), "loss"), 1e-5 * fresh.score(), "the reference saw the same batch");
    }

    /**
     * big_vision's recipe options: global gradient-norm clipping and a cosine decay. Both engines apply them alike,
     * the clipping really acts (the run differs from an unclipped one), and the lr logged follows the cosine.
     */
    @Test
    void clippingAndCosineDecayActAlikeInBothEngines(@TempDir Path tmp) throws Exception {
        PretrainConfig clip = config("train.max_steps=6", "train.decay=cosine", "train.epochs=0.5", "train.grad_clip_norm=0.05");
        PretrainJob.Result single = new PretrainJob(null, clip, dataset.toString(), tmp.resolve("single").toString(), false,
                PretrainJob.Mode.SINGLE_PROCESS).run();
        PretrainJob.Result distributed = new PretrainJob(spark, clip, dataset.toString(), tmp.resolve("spark").toString(), false,
                PretrainJob.Mode.SPARK).run();
        PretrainJob.Result unclipped = new PretrainJob(null, config("train.max_steps=6", "train.decay=cosine", "train.epochs=0.5"),
                dataset.toString(), tmp.resolve("free").toString(), false, PretrainJob.Mode.SINGLE_PROCESS).run();
        double diff = maxAbsDiff(single.net().params(), distributed.net().params());
        double effect = maxAbsDiff(single.net().params(), unclipped.net().params());
        LOG.info("clipped at 0.05: single vs allreduce max |param diff| {}, vs unclipped {}", diff, effect);
        assertTrue(diff < 1e-5, "the engines clip differently: " + diff);
        assertTrue(effect > 100 * Math.max(diff, 1e-6), "clipping changed the run: " + effect);
        UpstreamSchedule cosine = UpstreamSchedule.cosine(clip.peakLr(), clip.warmupSteps(), (long) Math.ceil(0.5 * single.stepsPerEpoch()));
        for (Path run : List.of(tmp.resolve("single"), tmp.resolve("spark"))) {
            List<Map<String, Object>> h = history(run);
            assertEquals(6, h.stream().mapToInt(r -> ((Number) r.get("clipped_steps")).intValue()).sum(), run + ": every step clipped");
            for (Map<String, Object> r : h) {
                long step = ((Number) r.get("step")).longValue();
                assertEquals(cosine.lr(step - 1), num(r, "lr"), 1e-12, "lr at step " + step);
                assertTrue(num(r, "grad_norm") > 0.05, "the norm before clipping is logged");
            }
        }
    }

    /** A checkpoint whose class order differs from the data set's is refused by evaluate, not silently misaligned. */
    @Test
    void evaluateRefusesMisalignedClassNames(@TempDir Path tmp) throws Exception {
        PretrainJob.Result r = new PretrainJob(null, config("train.max_steps=1"), dataset.toString(), tmp.resolve("run").toString(), false,
                PretrainJob.Mode.SINGLE_PROCESS).run();
        io.bitspark.model.checkpoint.LocalStore store = new io.bitspark.model.checkpoint.LocalStore(tmp);
        io.bitspark.model.checkpoint.Provenance p = io.bitspark.model.checkpoint.ProjectCheckpoint.readProvenance(store, "run/checkpoints/step-00000001");
        assertEquals(List.of("class0", "class1", "class2", "class3"), p.classNames());
        io.bitspark.model.checkpoint.ProjectCheckpoint.write(store, "swapped", r.net(),
                p.withClassNames(List.of("class1", "class0", "class2", "class3")), false);
        io.bitspark.jobs.cli.ModelCommandTest.Run ok = io.bitspark.jobs.cli.ModelCommandTest.bit("evaluate", "--checkpoint",
                tmp.resolve("run/checkpoints/step-00000001").toString(), "--data", dataset.toString(), "--resolution", "16");
        assertEquals(0, ok.code(), ok.err());
        io.bitspark.jobs.cli.ModelCommandTest.Run bad = io.bitspark.jobs.cli.ModelCommandTest.bit("evaluate", "--checkpoint",
                tmp.resolve("swapped").toString(), "--data", dataset.toString(), "--resolution", "16");
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("class 0 is 'class1' there and 'class0' here") && bad.err().contains("--class-names"), bad.err());
    }

    @Test
    void aDivergingRunStopsWithTheLastGoodCheckpoint(@TempDir Path tmp) {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> new PretrainJob(null,
                config("train.max_steps=8", "train.base_lr=1e9", "train.warmup_steps=0"), dataset.toString(),
                tmp.resolve("nan").toString(), false, PretrainJob.Mode.SINGLE_PROCESS).run());
        assertTrue(e.getMessage().contains("loss is") && e.getMessage().contains("last good checkpoint"), e.getMessage());
    }

    @Test
    void badSettingsNameTheKey() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> config("train.global_batch=7"));
        assertTrue(e.getMessage().contains("bit.train.global_batch") && e.getMessage().contains("multiple"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> config("train.epoch=3"));
        assertTrue(e.getMessage().contains("unknown setting 'bit.train.epoch'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> config("train.grad_clip_norm=1", "train.engine=dl4j-paramavg"));
        assertTrue(e.getMessage().contains("bit.train.grad_clip_norm"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> config("train.decay=linear"));
        assertTrue(e.getMessage().contains("bit.train.decay = linear") && e.getMessage().contains("step or cosine"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> config("train.engine=ring"));
        assertTrue(e.getMessage().contains("bit.train.engine = ring") && e.getMessage().contains("allreduce or dl4j-paramavg"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> config("train.engine=single-process"));
        assertTrue(e.getMessage().contains("bit.train.engine = single-process"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> config("train.exchange_dtype=float16"));
        assertTrue(e.getMessage().contains("bit.train.exchange_dtype = float16") && e.getMessage().contains("float32 or bfloat16"),
                e.getMessage());
        assertEquals(PretrainConfig.ExchangeDtype.BFLOAT16, config("train.exchange_dtype=bfloat16").exchangeDtype());
        assertEquals(io.bitspark.jobs.engine.TrainingEngine.Kind.DL4J_PARAMAVG, config("train.engine=dl4j-paramavg").engine());
        assertEquals(PretrainConfig.Decay.COSINE, config("train.decay=cosine").decay());
        e = assertThrows(IllegalArgumentException.class, () -> config("model.head_bias_init=low"));
        assertTrue(e.getMessage().contains("bit.model.head_bias_init"), e.getMessage());
        assertEquals(-10.0, config().headBiasFor(io.bitspark.model.arch.LossKind.SIGMOID_CROSS_ENTROPY));
        assertEquals(0.0, config().headBiasFor(io.bitspark.model.arch.LossKind.SOFTMAX_CROSS_ENTROPY));
        assertEquals(-4.5, config("model.head_bias_init=-4.5").headBiasFor(io.bitspark.model.arch.LossKind.SIGMOID_CROSS_ENTROPY));
        e = assertThrows(IllegalArgumentException.class, () -> config("data.loss=hinge"));
        assertTrue(e.getMessage().contains("bit.data.loss = hinge") && e.getMessage().contains("auto, softmax or sigmoid"), e.getMessage());
        assertEquals(io.bitspark.model.arch.LossKind.SIGMOID_CROSS_ENTROPY, config("data.loss=Sigmoid").lossFor(false));
        e = assertThrows(IllegalArgumentException.class, () -> PretrainConfig.load("nope", List.of()));
        assertTrue(e.getMessage().contains("unknown pre-training preset 'nope'"), e.getMessage());
    }
}
