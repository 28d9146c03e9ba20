package io.bitspark.jobs.pretrain;

import java.io.File;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigValue;

import io.bitspark.model.arch.LossKind;
import io.bitspark.model.arch.ResNetV2Presets;

/**
 * The resolved, validated configuration of a pre-training run: a HOCON preset (conf/pretrain/*.conf,
 * which includes every default from defaults.conf) with {@code --set key=value} overrides. Validation names
 * the offending key; unknown keys are errors (a typo must not silently fall back to a default).
 */
public record PretrainConfig(String preset, String modelPreset, String headBiasInit, String loss, int resolution, double cropMinArea,
                             boolean flip, int globalBatch, int workers, String engine, int microBatches,
                             int averagingFrequency, long exchangeTimeoutSeconds, String exchangeDtype, double epochs,
                             long maxSteps, double baseLr, double momentum, double weightDecay, long warmupSteps,
                             String decay, List<Double> decayEpochs, double decayFactor, double gradClipNorm, long seed,
                             long checkpointEvery,
                             int keepCheckpoints, int writeAttempts, long lockTimeoutSeconds, long evalEvery,
                             int evalMaxExamples, int evalBatch, long fewshotEvery, List<Object> fewshotData,
                             List<Integer> fewshotShots, int fewshotSeeds, int fewshotMaxExamples, double fewshotRidge,
                             long logEvery, int syncEvery, Map<String, Object> resolved) implements Serializable {

    /** Settings a resumed run cannot change: they define the model and what it learns from. */
    public static final List<String> FIXED = List.of("model.preset", "data.loss", "data.resolution", "data.crop_min_area",
            "data.flip", "train.momentum", "train.weight_decay");

    /** Settings of the optimisation schedule: a resume may change them only with --allow-config-change. */
    public static final List<String> SCHEDULE = List.of("train.base_lr", "train.warmup_steps", "train.decay", "train.decay_epochs",
            "train.decay_factor", "train.grad_clip_norm", "train.epochs", "train.global_batch", "train.seed");

    /** One setting that differs between a checkpoint's run and this configuration. */
    public record Change(String key, Object before, Object now) {
        @Override
        public String toString() {
            return "bit." + key + ": " + before + " -> " + now;
        }
    }

    /**
     * The {@link #FIXED} and {@link #SCHEDULE} settings whose values differ from those a checkpoint recorded
     * ({@code recorded}: its resolved configuration). Settings the checkpoint does not record are not compared.
     */
    public List<Change> changesFrom(Map<String, Object> recorded) {
        List<Change> out = new ArrayList<>();
        if (recorded == null) {
            return out;
        }
        for (String k : concat(FIXED, SCHEDULE)) {
            if (recorded.containsKey(k) && !same(recorded.get(k), resolved.get(k))) {
                out.add(new Change(k, recorded.get(k), resolved.get(k)));
            }
        }
        return out;
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    /** Equal as configuration values: numbers by value (5000 == 5000.0), lists element by element. */
    static boolean same(Object a, Object b) {
        if (a instanceof Number x && b instanceof Number y) {
            return x.doubleValue() == y.doubleValue();
        }
        if (a instanceof List<?> x && b instanceof List<?> y) {
            if (x.size() != y.size()) {
                return false;
            }
            for (int i = 0; i < x.size(); i++) {
                if (!same(x.get(i), y.get(i))) {
                    return false;
                }
            }
            return true;
        }
        return String.valueOf(a).equals(String.valueOf(b));
    }

    public static final String RESOURCE_DIR = "conf/pretrain/";

    /** The presets under conf/pretrain/ (every file there but defaults.conf; a test walks the directory). */
    public static final List<String> PRESETS = List.of("bit-s-r50x1", "bit-m-r152x4", "bit-l", "local");

    /** {@link #PRESETS} for picocli's {@code ${COMPLETION-CANDIDATES}}. */
    public static final class PresetNames implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return PRESETS.iterator();
        }
    }

    /** Loads {@code preset} (a name under conf/pretrain/ or a .conf file) and applies {@code key=value} overrides. */
    public static PretrainConfig load(String preset, List<String> overrides) {
        Config base;
        File f = new File(preset);
        if (preset.endsWith(".conf") && f.isFile()) {
            base = ConfigFactory.parseFile(f, ConfigParseOptions.defaults().setAllowMissing(false));
        } else {
            String name = preset.endsWith(".conf") ? preset : preset + ".conf";
            base = ConfigFactory.parseResourcesAnySyntax(PretrainConfig.class.getClassLoader(), RESOURCE_DIR + name);
            if (base.isEmpty()) {
                throw new IllegalArgumentException("unknown pre-training preset '" + preset + "'; known: "
                        + String.join(", ", PRESETS) + " (or a path to a .conf file)");
            }
        }
        Config defaults = ConfigFactory.parseResourcesAnySyntax(PretrainConfig.class.getClassLoader(), RESOURCE_DIR + "defaults.conf");
        Config c = base;
        for (String o : overrides) {
            int eq = o.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("--set expects key=value, got '" + o + "'");
            }
            String key = o.substring(0, eq).strip();
            String full = key.startsWith("bit.") ? key : "bit." + key;
            try {
                c = ConfigFactory.parseString(full + " = " + o.substring(eq + 1).strip()).withFallback(c);
            } catch (ConfigException e) {
                throw new IllegalArgumentException("--set " + o + ": " + e.getMessage());
            }
        }
        c = c.resolve();
        for (Map.Entry<String, ConfigValue> e : c.getConfig("bit").entrySet()) {
            if (!defaults.hasPath("bit." + e.getKey())) {
                throw new IllegalArgumentException("unknown setting 'bit." + e.getKey() + "' (see conf/pretrain/defaults.conf)");
            }
        }
        try {
            return from(preset, c.getConfig("bit"));
        } catch (ConfigException e) {
            throw new IllegalArgumentException("invalid setting: " + e.getMessage());
        }
    }

    private static PretrainConfig from(String preset, Config b) {
        String modelPreset = b.getString("model.preset");
        ResNetV2Presets.get(modelPreset); // fails naming the known presets
        String headBias = String.valueOf(b.getAnyRef("model.head_bias_init")).strip();
        require(headBias.equals("auto") || isNumber(headBias), "bit.model.head_bias_init", headBias, "auto or a number");
        String loss = b.getString("data.loss").toLowerCase(Locale.ROOT);
        require(List.of("auto", "softmax", "sigmoid").contains(loss), "bit.data.loss", loss, "auto, softmax or sigmoid");
        int resolution = b.getInt("data.resolution");
        require(resolution >= 16, "bit.data.resolution", resolution, ">= 16");
        double cropMinArea = b.getDouble("data.crop_min_area");
        require(cropMinArea > 0 && cropMinArea <= 1, "bit.data.crop_min_area", cropMinArea, "in (0, 1]");
        int globalBatch = b.getInt("train.global_batch");
        require(globalBatch >= 1, "bit.train.global_batch", globalBatch, ">= 1");
        int workers = b.getInt("train.workers");
        require(workers >= 0, "bit.train.workers", workers, ">= 0");
        require(workers == 0 || globalBatch % workers == 0, "bit.train.global_batch", globalBatch,
                "a multiple of bit.train.workers (" + workers + ")");
        int freq = b.getInt("train.averaging_frequency");
        require(freq >= 1, "bit.train.averaging_frequency", freq, ">= 1");
        String engine = b.getString("train.engine");
        require(io.bitspark.jobs.engine.TrainingEngine.NAMES.contains(engine), "bit.train.engine", engine,
                String.join(" or ", io.bitspark.jobs.engine.TrainingEngine.NAMES));
        int micro = b.getInt("train.micro_batches");
        require(micro >= 1, "bit.train.micro_batches", micro, ">= 1");
        require(workers == 0 || globalBatch % (workers * micro) == 0, "bit.train.global_batch", globalBatch,
                "a multiple of bit.train.workers x bit.train.micro_batches (" + workers + " x " + micro + ")");
        require(micro == 1 || engine.equals("allreduce"), "bit.train.micro_batches", micro, "1 with the " + engine + " engine");
        long timeout = b.getLong("train.exchange_timeout_s");
        require(timeout >= 1, "bit.train.exchange_timeout_s", timeout, ">= 1");
        String dtype = b.getString("train.exchange_dtype");
        require(List.of("float32", "bfloat16").contains(dtype), "bit.train.exchange_dtype", dtype, "float32 or bfloat16");
        double epochs = b.getDouble("train.epochs");
        require(epochs > 0, "bit.train.epochs", epochs, "> 0");
        long maxSteps = b.getLong("train.max_steps");
        require(maxSteps >= 0, "bit.train.max_steps", maxSteps, ">= 0");
        double baseLr = b.getDouble("train.base_lr");
        require(baseLr > 0, "bit.train.base_lr", baseLr, "> 0");
        double momentum = b.getDouble("train.momentum");
        require(momentum >= 0 && momentum < 1, "bit.train.momentum", momentum, "in [0, 1)");
        double wd = b.getDouble("train.weight_decay");
        require(wd >= 0, "bit.train.weight_decay", wd, ">= 0");
        long warmup = b.getLong("train.warmup_steps");
        require(warmup >= 0, "bit.train.warmup_steps", warmup, ">= 0");
        List<Double> decays = b.getDoubleList("train.decay_epochs");
        for (int i = 1; i < decays.size(); i++) {
            require(decays.get(i) >= decays.get(i - 1), "bit.train.decay_epochs", decays, "ascending");
        }
        String decay = b.getString("train.decay");
        require(List.of("step", "cosine").contains(decay), "bit.train.decay", decay, "step or cosine");
        double clip = b.getDouble("train.grad_clip_norm");
        require(clip >= 0, "bit.train.grad_clip_norm", clip, ">= 0 (0: off)");
        require(clip == 0 || engine.equals("allreduce") && freq == 1, "bit.train.grad_clip_norm", clip,
                "0 unless bit.train.engine = allreduce with bit.train.averaging_frequency = 1 (or --single-process)");
        double factor = b.getDouble("train.decay_factor");
        require(factor > 0 && factor <= 1, "bit.train.decay_factor", factor, "in (0, 1]");
        long ckEvery = b.getLong("checkpoint.every_steps");
        require(ckEvery >= 1, "bit.checkpoint.every_steps", ckEvery, ">= 1");
        int keep = b.getInt("checkpoint.keep");
        require(keep >= 1, "bit.checkpoint.keep", keep, ">= 1");
        int attempts = b.getInt("checkpoint.write_attempts");
        require(attempts >= 1, "bit.checkpoint.write_attempts", attempts, ">= 1");
        long lockTimeout = b.getLong("checkpoint.lock_timeout_s");
        require(lockTimeout >= 1, "bit.checkpoint.lock_timeout_s", lockTimeout, ">= 1");
        long evalEvery = b.getLong("eval.every_steps");
        require(evalEvery >= 1, "bit.eval.every_steps", evalEvery, ">= 1");
        int evalMax = b.getInt("eval.max_examples");
        require(evalMax >= 0, "bit.eval.max_examples", evalMax, ">= 0");
        int evalBatch = b.getInt("eval.batch");
        require(evalBatch >= 1, "bit.eval.batch", evalBatch, ">= 1");
        long fsEvery = b.getLong("eval.fewshot.every_steps");
        require(fsEvery >= 0, "bit.eval.fewshot.every_steps", fsEvery, ">= 0");
        List<Object> fsData = new ArrayList<>(b.getList("eval.fewshot.data").unwrapped());
        require(fsEvery == 0 || !fsData.isEmpty(), "bit.eval.fewshot.data", fsData, "at least one data set when "
                + "bit.eval.fewshot.every_steps > 0");
        for (Object o : fsData) {
            require(o instanceof String || o instanceof Map<?, ?> m && m.get("train") instanceof String, "bit.eval.fewshot.data", o,
                    "\"URI\" or {name = ..., train = \"URI\", test = \"URI\"}");
        }
        List<Integer> fsShots = b.getIntList("eval.fewshot.shots");
        require(!fsShots.isEmpty() && fsShots.stream().allMatch(k -> k >= 1), "bit.eval.fewshot.shots", fsShots, "shot counts >= 1");
        int fsSeeds = b.getInt("eval.fewshot.seeds");
        require(fsSeeds >= 1, "bit.eval.fewshot.seeds", fsSeeds, ">= 1");
        int fsMax = b.getInt("eval.fewshot.max_examples");
        require(fsMax >= 0, "bit.eval.fewshot.max_examples", fsMax, ">= 0");
        double fsRidge = b.getDouble("eval.fewshot.ridge");
        require(fsRidge > 0, "bit.eval.fewshot.ridge", fsRidge, "> 0");
        long logEvery = b.getLong("log.every_steps");
        require(logEvery >= 1, "bit.log.every_steps", logEvery, ">= 1");
        int syncEvery = b.getInt("log.sync_every");
        require(syncEvery >= 1, "bit.log.sync_every", syncEvery, ">= 1");
        Map<String, Object> flat = new TreeMap<>();
        for (Map.Entry<String, ConfigValue> e : b.entrySet()) {
            flat.put(e.getKey(), e.getValue().unwrapped());
        }
        return new PretrainConfig(preset, modelPreset, headBias, loss, resolution, cropMinArea, b.getBoolean("data.flip"), globalBatch,
                workers, engine, micro, freq, timeout, dtype, epochs, maxSteps, baseLr, momentum, wd, warmup, decay, List.copyOf(decays), factor, clip,
                b.getLong("train.seed"), ckEvery, keep, attempts, lockTimeout, evalEvery, evalMax, evalBatch, fsEvery, fsData, List.copyOf(fsShots), fsSeeds,
                fsMax, fsRidge, logEvery, syncEvery,
                new LinkedHashMap<>(flat));
    }

    private static boolean isNumber(String s) {
        try {
            return Double.isFinite(Double.parseDouble(s));
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** The head's initial bias for a loss: the configured number, or for "auto" -10 with sigmoid and 0 with softmax. */
    public double headBiasFor(LossKind loss) {
        if (!headBiasInit.equals("auto")) {
            return Double.parseDouble(headBiasInit);
        }
        return loss == LossKind.SIGMOID_CROSS_ENTROPY ? -10.0 : 0.0;
    }

    /** The learning-rate schedule: warmup, then the paper's step decays or a cosine decay over {@code train.epochs}. */
    public io.bitspark.model.train.UpstreamSchedule schedule(long stepsPerEpoch) {
        if (decay.equals("cosine")) {
            return io.bitspark.model.train.UpstreamSchedule.cosine(peakLr(), warmupSteps, (long) Math.ceil(epochs * stepsPerEpoch));
        }
        return new io.bitspark.model.train.UpstreamSchedule(peakLr(), warmupSteps, decaySteps(stepsPerEpoch), decayFactor);
    }

    private static void require(boolean ok, String key, Object value, String expected) {
        if (!ok) {
            throw new IllegalArgumentException("invalid setting " + key + " = " + value + ": expected " + expected);
        }
    }

    /** The loss for a dataset: the configured one, or sigmoid for multi-label data when "auto". */
    public LossKind lossFor(boolean multiLabel) {
        return switch (loss) {
            case "softmax" -> LossKind.SOFTMAX_CROSS_ENTROPY;
            case "sigmoid" -> LossKind.SIGMOID_CROSS_ENTROPY;
            default -> multiLabel ? LossKind.SIGMOID_CROSS_ENTROPY : LossKind.SOFTMAX_CROSS_ENTROPY;
        };
    }

    /** Peak learning rate by the linear scaling rule. */
    public double peakLr() {
        return baseLr * globalBatch / 256.0;
    }

    /** Decay boundaries in global steps. */
    public long[] decaySteps(long stepsPerEpoch) {
        List<Long> out = new ArrayList<>();
        for (double e : decayEpochs) {
            out.add(Math.round(e * stepsPerEpoch));
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    /** Total global steps for the run. */
    public long totalSteps(long stepsPerEpoch) {
        long byEpochs = (long) Math.ceil(epochs * stepsPerEpoch);
        return maxSteps > 0 ? Math.min(maxSteps, byEpochs) : byEpochs;
    }
}
