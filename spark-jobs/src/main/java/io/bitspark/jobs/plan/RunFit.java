package io.bitspark.jobs.plan;

import java.io.IOException;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import io.bitspark.model.arch.ModelCost;
import io.bitspark.model.checkpoint.ArtifactStore;
import io.bitspark.model.checkpoint.ProjectCheckpoint;
import io.bitspark.model.checkpoint.Provenance;
import io.bitspark.model.run.MetricsLog;
import io.bitspark.model.run.RunDirectory;

/**
 * The planner's constants fitted to a finished run ({@code bit plan --from-run RUN}): its newest checkpoint's
 * provenance says what ran (model, resolution, executors, batch, steps per round), its metrics what each step cost.
 * Medians over the steady intervals (all but the first, which holds start-up, and the last, which holds the final
 * checkpoint): compute per step gives the device's rate (as R50x1-at-224 images/s, by multiply-accumulates),
 * exchange per step against the ideal time on {@code linkGbps} gives the link's efficiency, update per step the
 * optimizer's cost per parameter, scheduling per step times steps per round the round trip, and data wait per
 * step a loading cost per image that adds to compute.
 */
public record RunFit(Planner.Question question, Planner.Constants constants, Map<String, Double> measured, String summary) {

    public static RunFit fit(ArtifactStore run, double linkGbps, Planner.Constants base) throws IOException {
        RunDirectory.Checkpoint c = new RunDirectory(run).newestComplete();
        if (c == null) {
            throw new IllegalArgumentException(run.uri("") + ": no complete checkpoint, so nothing says what the run was");
        }
        Provenance p = ProjectCheckpoint.readProvenance(run, c.dir());
        Map<String, Object> cfg = p.config();
        if (cfg == null || p.kind() != io.bitspark.model.checkpoint.Provenance.Kind.PRETRAIN) {
            throw new IllegalArgumentException(run.uri(c.dir()) + ": not a pre-training checkpoint (kind " + p.kind() + ")");
        }
        String preset = String.valueOf(cfg.get("model.preset"));
        int resolution = number(cfg, "data.resolution", run).intValue();
        int workers = number(cfg, "run.workers", run).intValue();
        int batch = number(cfg, "train.global_batch", run).intValue();
        int roundSteps = number(cfg, "log.every_steps", run).intValue();
        int micro = number(cfg, "train.micro_batches", run).intValue();
        int k = number(cfg, "train.averaging_frequency", run).intValue();
        int classes = p.spec().numClasses();
        List<Map<String, Object>> rows = MetricsLog.history(run);
        if (rows.size() < 3) {
            throw new IllegalArgumentException(run.uri("") + ": " + rows.size() + " metrics intervals; at least 3 are needed (the first "
                    + "and the last are not steady)");
        }
        List<Map<String, Object>> steady = rows.subList(1, rows.size() - 1);
        double compute = median(steady, "time_compute");
        double data = median(steady, "time_data");
        double exchange = median(steady, "time_exchange");
        double update = median(steady, "time_update");
        double scheduling = median(steady, "time_scheduling");
        double step = io.bitspark.model.stats.Stats.median(steady.stream()
                .mapToDouble(r -> batch / ((Number) r.get("images_per_sec")).doubleValue()).toArray());
        long bytes = Math.round(median(steady, "bytes_executor_sent"));
        int share = batch / workers;
        ModelCost cost = ModelCost.of(io.bitspark.model.arch.ResNetV2Presets.get(preset).withClasses(classes), resolution);
        ModelCost r50 = ModelCost.of(io.bitspark.model.arch.ResNetV2Presets.get("r50x1").withClasses(1000), 224);
        double r50Rate = share * cost.trainMacsPerImage() / compute / r50.trainMacsPerImage();
        Devices device = new Devices("fitted", r50Rate, 0, String.format(Locale.ROOT, "fitted to %s: %.3f s compute per step for %d images",
                run.uri(""), compute, share), 0, update * workers / cost.params());
        double efficiency = base.linkEfficiency();
        if (workers > 1 && exchange > 0 && bytes > 0) {
            efficiency = bytes * 8.0 / k / (linkGbps * 1e9) / exchange;
        }
        double perRound = Math.max(0, scheduling * roundSteps - base.schedulingSecondsPerExecutor() * workers);
        Planner.Constants constants = new Planner.Constants(perRound, base.schedulingSecondsPerExecutor(), base.updateSecondsPerParam(),
                base.activationBytesFactor(), base.baseBytes(), efficiency);
        long images = number(cfg, "run.steps_per_epoch", run).longValue() * batch;
        Planner.Question q = new Planner.Question(preset, classes, resolution, images, 1, workers, device, linkGbps, batch,
                micro > 1 ? share / micro : 0, k).withRoundSteps(roundSteps).withData(data / share, 0);
        Map<String, Double> measured = new java.util.LinkedHashMap<>();
        measured.put("step", step);
        measured.put("compute", compute);
        measured.put("data", data);
        measured.put("exchange", exchange);
        measured.put("update", update);
        measured.put("scheduling", scheduling);
        String summary = String.format(Locale.ROOT, "fitted to %s (%s at %d px, %d executors x %d images, %d steps per round, medians of %d "
                        + "steady intervals): step %.3f s = compute %.3f + data %.3f + exchange %.3f + update %.4f + scheduling %.3f; device %.1f "
                        + "R50x1-at-224 images/s, link efficiency %.2f of %.0f Gbit/s, %.3f s per round", run.uri(""), preset, resolution, workers,
                share, roundSteps, steady.size(), step, compute, data, exchange, update, scheduling, r50Rate, efficiency, linkGbps, perRound);
        return new RunFit(q, constants, measured, summary);
    }

    private static Number number(Map<String, Object> cfg, String key, ArtifactStore run) {
        Object v = cfg.get(key);
        if (!(v instanceof Number n)) {
            throw new IllegalArgumentException(run.uri("") + ": the checkpoint's provenance has no number '" + key + "' (" + v + ")");
        }
        return n;
    }

    private static double median(List<Map<String, Object>> rows, String key) {
        double[] v = rows.stream().filter(r -> r.get(key) instanceof Number).mapToDouble(r -> ((Number) r.get(key)).doubleValue()).toArray();
        return v.length == 0 ? 0 : io.bitspark.model.stats.Stats.median(v);
    }
}
