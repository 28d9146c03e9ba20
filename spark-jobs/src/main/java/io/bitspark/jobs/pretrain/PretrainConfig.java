package io.bitspark.jobs.pretrain;

import java.io.File;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigValue;

import io.bitspark.jobs.engine.TrainingEngine;
import io.bitspark.model.arch.LossKind;
import io.bitspark.model.arch.ResNetV2Presets;

/**
 * The resolved, validated configuration of a pre-training run: a HOCON preset (conf/pretrain/*.conf,
 * which includes every default from defaults.conf) with {@code --set key=value} overrides. Validation names
 * the offending key; unknown keys are errors (a typo must not silently fall back to a default).
 *
 * <p>Each setting is declared once below as a {@link Setting}: its key, how it is read and what it must satisfy.
 * Its default and meaning are in conf/pretrain/defaults.conf, the documented source. The accessors are one-line
 * reads of those declarations; checks that relate several settings follow them in {@link #validate}.
 */
public final class PretrainConfig implements Serializable {

    private static final long serialVersionUID = 1L;

    /** {@code data.loss}: softmax or sigmoid cross-entropy, or "auto" (sigmoid for multi-label data). */
    public enum Loss {
        AUTO, SOFTMAX, SIGMOID;

        /** The loss for a data set. */
        public LossKind forData(boolean multiLabel) {
            return switch (this) {
                case SOFTMAX -> LossKind.SOFTMAX_CROSS_ENTROPY;
                case SIGMOID -> LossKind.SIGMOID_CROSS_ENTROPY;
                case AUTO -> multiLabel ? LossKind.SIGMOID_CROSS_ENTROPY : LossKind.SOFTMAX_CROSS_ENTROPY;
            };
        }

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** {@code train.exchange_dtype}: how the all-reduce engine sends gradients between executors. */
    public enum ExchangeDtype {
        FLOAT32, BFLOAT16;

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** {@code train.decay}: the paper's step decays of the learning rate, or a cosine decay over the run. */
    public enum Decay {
        STEP, COSINE;

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** How a setting's value is read from the {@code bit} block. */
    @FunctionalInterface
    interface Reader<T> {
        T read(Config bit, String key);
    }

    /** One setting: its key under {@code bit.}, how it is read, and what its value must satisfy. */
    public static final class Setting<T> {
        private final String key;
        private final Reader<T> reader;
        private final Predicate<T> check;
        private final String expected;

        private Setting(String key, Reader<T> reader, Predicate<T> check, String expected) {
            this.key = key;
            this.reader = reader;
            this.check = check;
            this.expected = expected;
        }

        /** The key under {@code bit.}, e.g. {@code train.global_batch}. */
        public String key() {
            return key;
        }

        T read(Config bit) {
            T v = reader.read(bit, key);
            // A reader that finds no value it knows gives null: the message names what was written.
            require(v != null && check.test(v), "bit." + key, v != null ? v : bit.getValue(key).unwrapped(), expected);
            return v;
        }
    }

    private static final List<Setting<?>> ALL = new ArrayList<>();

    private static <T> Setting<T> setting(String key, Reader<T> reader, Predicate<T> check, String expected) {
        Setting<T> s = new Setting<>(key, reader, check, expected);
        ALL.add(s);
        return s;
    }

    /** One of {@code values}, written as its {@code toString()}; other text is an error that names it and the choices. */
    private static <E extends Enum<E>> Setting<E> choice(String key, List<E> values) {
        List<String> texts = values.stream().map(Object::toString).toList();
        String expected = texts.size() == 1 ? texts.get(0)
                : String.join(", ", texts.subList(0, texts.size() - 1)) + " or " + texts.get(texts.size() - 1);
        return setting(key, (b, k) -> {
            String written = b.getString(k).strip();
            return values.stream().filter(v -> v.toString().equalsIgnoreCase(written)).findFirst().orElse(null);
        }, v -> true, expected);
    }

    private static Setting<Integer> integer(String key, Predicate<Integer> check, String expected) {
        return setting(key, Config::getInt, check, expected);
    }

    private static Setting<Long> whole(String key, Predicate<Long> check, String expected) {
        return setting(key, Config::getLong, check, expected);
    }

    private static Setting<Double> real(String key, Predicate<Double> check, String expected) {
        return setting(key, Config::getDouble, check, expected);
    }

    public static final Setting<String> MODEL_PRESET = setting("model.preset", Config::getString, PretrainConfig::isModelPreset,
            "a model preset (bit model --list)");
    public static final Setting<String> HEAD_BIAS_INIT = setting("model.head_bias_init", (b, k) -> String.valueOf(b.getAnyRef(k)).strip(),
            v -> v.equals("auto") || isNumber(v), "auto or a number");
    public static final Setting<Loss> LOSS = choice("data.loss", List.of(Loss.values()));
    public static final Setting<Integer> RESOLUTION = integer("data.resolution", v -> v >= 16, ">= 16");
    public static final Setting<Double> CROP_MIN_AREA = real("data.crop_min_area", v -> v > 0 && v <= 1, "in (0, 1]");
    public static final Setting<Boolean> FLIP = setting("data.flip", Config::getBoolean, v -> true, "true or false");
    public static final Setting<Integer> GLOBAL_BATCH = integer("train.global_batch", v -> v >= 1, ">= 1");
    public static final Setting<Integer> WORKERS = integer("train.workers", v -> v >= 0, ">= 0");
    public static final Setting<TrainingEngine.Kind> ENGINE = choice("train.engine", TrainingEngine.Kind.SETTABLE);
    public static final Setting<Integer> MICRO_BATCHES = integer("train.micro_batches", v -> v >= 1, ">= 1");
    public static final Setting<Integer> AVERAGING_FREQUENCY = integer("train.averaging_frequency", v -> v >= 1, ">= 1");
    public static final Setting<Long> EXCHANGE_TIMEOUT_S = whole("train.exchange_timeout_s", v -> v >= 1, ">= 1");
    public static final Setting<ExchangeDtype> EXCHANGE_DTYPE = choice("train.exchange_dtype", List.of(ExchangeDtype.values()));
    public static final Setting<Double> EPOCHS = real("train.epochs", v -> v > 0, "> 0");
    public static final Setting<Long> MAX_STEPS = whole("train.max_steps", v -> v >= 0, ">= 0");
    public static final Setting<Double> BASE_LR = real("train.base_lr", v -> v > 0, "> 0");
    public static final Setting<Double> MOMENTUM = real("train.momentum", v -> v >= 0 && v < 1, "in [0, 1)");
    public static final Setting<Double> WEIGHT_DECAY = real("train.weight_decay", v -> v >= 0, ">= 0");
    public static final Setting<Long> WARMUP_STEPS = whole("train.warmup_steps", v -> v >= 0, ">= 0");
    public static final Setting<Decay> DECAY = choice("train.decay", List.of(Decay.values()));
    public static final Setting<List<Double>> DECAY_EPOCHS = setting("train.decay_epochs", (b, k) -> List.copyOf(b.getDoubleList(k)),
            PretrainConfig::ascending, "ascending");
    public static final Setting<Double> DECAY_FACTOR = real("train.decay_factor", v -> v > 0 && v <= 1, "in (0, 1]");
    public static final Setting<Double> GRAD_CLIP_NORM = real("train.grad_clip_norm", v -> v >= 0, ">= 0 (0: off)");
    public static final Setting<Long> SEED = whole("train.seed", v -> true, "an integer");
    public static final Setting<Long> CHECKPOINT_EVERY = whole("checkpoint.every_steps", v -> v >= 1, ">= 1");
    public static final Setting<Integer> KEEP_CHECKPOINTS = integer("checkpoint.keep", v -> v >= 1, ">= 1");
    public static final Setting<Integer> WRITE_ATTEMPTS = integer("checkpoint.write_attempts", v -> v >= 1, ">= 1");
    public static final Setting<Long> LOCK_TIMEOUT_S = whole("checkpoint.lock_timeout_s", v -> v >= 1, ">= 1");
    public static final Setting<Long> EVAL_EVERY = whole("eval.every_steps", v -> v >= 1, ">= 1");
    public static final Setting<Integer> EVAL_MAX_EXAMPLES = integer("eval.max_examples", v -> v >= 0, ">= 0");
    public static final Setting<Integer> EVAL_BATCH = integer("eval.batch", v -> v >= 1, ">= 1");
    public static final Setting<Long> FEWSHOT_EVERY = whole("eval.fewshot.every_steps", v -> v >= 0, ">= 0");
    public static final Setting<List<Object>> FEWSHOT_DATA = setting("eval.fewshot.data",
            (b, k) -> List.copyOf(b.getList(k).unwrapped()), PretrainConfig::fewshotEntries,
            "entries \"URI\" or {name = ..., train = \"URI\", test = \"URI\"}");
    public static final Setting<List<Integer>> FEWSHOT_SHOTS = setting("eval.fewshot.shots", (b, k) -> List.copyOf(b.getIntList(k)),
            v -> !v.isEmpty() && v.stream().allMatch(k -> k >= 1), "shot counts >= 1");
    public static final Setting<Integer> FEWSHOT_SEEDS = integer("eval.fewshot.seeds", v -> v >= 1, ">= 1");
    public static final Setting<Integer> FEWSHOT_MAX_EXAMPLES = integer("eval.fewshot.max_examples", v -> v >= 0, ">= 0");
    public static final Setting<Double> FEWSHOT_RIDGE = real("eval.fewshot.ridge", v -> v > 0, "> 0");
    public static final Setting<Long> LOG_EVERY = whole("log.every_steps", v -> v >= 1, ">= 1");
    public static final Setting<Integer> SYNC_EVERY = integer("log.sync_every", v -> v >= 1, ">= 1");

    /** Every declared setting, in declaration order. */
    public static List<Setting<?>> settings() {
        return List.copyOf(ALL);
    }

    private final String preset;
    /** Setting key to its checked value (plain values: this object travels to executors). */
    private final Map<String, Object> values;
    private final Map<String, Object> resolved;

    private PretrainConfig(String preset, Map<String, Object> values, Map<String, Object> resolved) {
        this.preset = preset;
        this.values = values;
        this.resolved = resolved;
    }

    /** The value of a setting. */
    @SuppressWarnings("unchecked")
    public <T> T get(Setting<T> s) {
        return (T) values.get(s.key());
    }

    public String preset() {
        return preset;
    }

    /** Every key of the resolved configuration (flattened under {@code bit.}) to its value: what a checkpoint records. */
    public Map<String, Object> resolved() {
        return resolved;
    }

    public String modelPreset() {
        return get(MODEL_PRESET);
    }

    public String headBiasInit() {
        return get(HEAD_BIAS_INIT);
    }

    public Loss loss() {
        return get(LOSS);
    }

    public int resolution() {
        return get(RESOLUTION);
    }

    public double cropMinArea() {
        return get(CROP_MIN_AREA);
    }

    public boolean flip() {
        return get(FLIP);
    }

    public int globalBatch() {
        return get(GLOBAL_BATCH);
    }

    public int workers() {
        return get(WORKERS);
    }

    public TrainingEngine.Kind engine() {
        return get(ENGINE);
    }

    public int microBatches() {
        return get(MICRO_BATCHES);
    }

    public int averagingFrequency() {
        return get(AVERAGING_FREQUENCY);
    }

    public long exchangeTimeoutSeconds() {
        return get(EXCHANGE_TIMEOUT_S);
    }

    public ExchangeDtype exchangeDtype() {
        return get(EXCHANGE_DTYPE);
    }

    public double epochs() {
        return get(EPOCHS);
    }

    public long maxSteps() {
        return get(MAX_STEPS);
    }

    public double baseLr() {
        return get(BASE_LR);
    }

    public double momentum() {
        return get(MOMENTUM);
    }

    public double weightDecay() {
        return get(WEIGHT_DECAY);
    }

    public long warmupSteps() {
        return get(WARMUP_STEPS);
    }

    public Decay decay() {
        return get(DECAY);
    }

    public List<Double> decayEpochs() {
        return get(DECAY_EPOCHS);
    }

    public double decayFactor() {
        return get(DECAY_FACTOR);
    }

    public double gradClipNorm() {
        return get(GRAD_CLIP_NORM);
    }

    public long seed() {
        return get(SEED);
    }

    public long checkpointEvery() {
        return get(CHECKPOINT_EVERY);
    }

    public int keepCheckpoints() {
        return get(KEEP_CHECKPOINTS);
    }

    public int writeAttempts() {
        return get(WRITE_ATTEMPTS);
    }

    public long lockTimeoutSeconds() {
        return get(LOCK_TIMEOUT_S);
    }

    public long evalEvery() {
        return get(EVAL_EVERY);
    }

    public int evalMaxExamples() {
        return get(EVAL_MAX_EXAMPLES);
    }

    public int evalBatch() {
        return get(EVAL_BATCH);
    }

    public long fewshotEvery() {
        return get(FEWSHOT_EVERY);
    }

    public List<Object> fewshotData() {
        return get(FEWSHOT_DATA);
    }

    public List<Integer> fewshotShots() {
        return get(FEWSHOT_SHOTS);
    }

    public int fewshotSeeds() {
        return get(FEWSHOT_SEEDS);
    }

    public int fewshotMaxExamples() {
        return get(FEWSHOT_MAX_EXAMPLES);
    }

    public double fewshotRidge() {
        return get(FEWSHOT_RIDGE);
    }

    public long logEvery() {
        return get(LOG_EVERY);
    }

    public int syncEvery() {
        return get(SYNC_EVERY);
    }

    /** Settings a resumed run cannot change: they define the model and what it learns from. */
    public static final List<String> FIXED = keys(MODEL_PRESET, LOSS, RESOLUTION, CROP_MIN_AREA, FLIP, MOMENTUM, WEIGHT_DECAY);

    /** Settings of the optimisation schedule: a resume may change them only with --allow-config-change. */
    public static final List<String> SCHEDULE = keys(BASE_LR, WARMUP_STEPS, DECAY, DECAY_EPOCHS, DECAY_FACTOR, GRAD_CLIP_NORM, EPOCHS,
            GLOBAL_BATCH, SEED);

    private static List<String> keys(Setting<?>... s) {
        return java.util.Arrays.stream(s).map(Setting::key).toList();
    }

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
        Map<String, Object> values = new LinkedHashMap<>();
        for (Setting<?> s : ALL) {
            values.put(s.key(), s.read(b));
        }
        Map<String, Object> flat = new TreeMap<>();
        for (Map.Entry<String, ConfigValue> e : b.entrySet()) {
            flat.put(e.getKey(), e.getValue().unwrapped());
        }
        PretrainConfig c = new PretrainConfig(preset, values, new LinkedHashMap<>(flat));
        c.validate();
        return c;
    }

    /** The checks that relate several settings. */
    private void validate() {
        int workers = workers();
        int globalBatch = globalBatch();
        int micro = microBatches();
        require(workers == 0 || globalBatch % workers == 0, "bit.train.global_batch", globalBatch,
                "a multiple of bit.train.workers (" + workers + ")");
        require(workers == 0 || globalBatch % (workers * micro) == 0, "bit.train.global_batch", globalBatch,
                "a multiple of bit.train.workers x bit.train.micro_batches (" + workers + " x " + micro + ")");
        require(micro == 1 || engine() == TrainingEngine.Kind.ALLREDUCE, "bit.train.micro_batches", micro, "1 with the " + engine() + " engine");
        double clip = gradClipNorm();
        require(clip == 0 || engine() == TrainingEngine.Kind.ALLREDUCE && averagingFrequency() == 1, "bit.train.grad_clip_norm", clip,
                "0 unless bit.train.engine = allreduce with bit.train.averaging_frequency = 1 (or --single-process)");
        require(fewshotEvery() == 0 || !fewshotData().isEmpty(), "bit.eval.fewshot.data", fewshotData(), "at least one data set when "
                + "bit.eval.fewshot.every_steps > 0");
    }

    private static boolean isModelPreset(String name) {
        ResNetV2Presets.get(name); // fails naming the known presets
        return true;
    }

    private static boolean ascending(List<Double> v) {
        for (int i = 1; i < v.size(); i++) {
            if (v.get(i) < v.get(i - 1)) {
                return false;
            }
        }
        return true;
    }

    private static boolean fewshotEntries(List<Object> data) {
        for (Object o : data) {
            if (!(o instanceof String || o instanceof Map<?, ?> m && m.get("train") instanceof String)) {
                require(false, "bit.eval.fewshot.data", o, "\"URI\" or {name = ..., train = \"URI\", test = \"URI\"}");
            }
        }
        return true;
    }

    private static boolean isNumber(String s) {
        try {
            return Double.isFinite(Double.parseDouble(s));
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** The head's initial bias for a loss: the configured number, or for "auto" -10 with sigmoid and 0 with softmax. */
    public double headBiasFor(LossKind kind) {
        if (!headBiasInit().equals("auto")) {
            return Double.parseDouble(headBiasInit());
        }
        return kind == LossKind.SIGMOID_CROSS_ENTROPY ? -10.0 : 0.0;
    }

    /** The learning-rate schedule: warmup, then the paper's step decays or a cosine decay over {@code train.epochs}. */
    public io.bitspark.model.train.UpstreamSchedule schedule(long stepsPerEpoch) {
        if (decay() == Decay.COSINE) {
            return io.bitspark.model.train.UpstreamSchedule.cosine(peakLr(), warmupSteps(), (long) Math.ceil(epochs() * stepsPerEpoch));
        }
        return new io.bitspark.model.train.UpstreamSchedule(peakLr(), warmupSteps(), decaySteps(stepsPerEpoch), decayFactor());
    }

    private static void require(boolean ok, String key, Object value, String expected) {
        if (!ok) {
            throw new IllegalArgumentException("invalid setting " + key + " = " + value + ": expected " + expected);
        }
    }

    /** The loss for a dataset: the configured one, or sigmoid for multi-label data when "auto". */
    public LossKind lossFor(boolean multiLabel) {
        return loss().forData(multiLabel);
    }

    /** Peak learning rate by the linear scaling rule. */
    public double peakLr() {
        return baseLr() * globalBatch() / 256.0;
    }

    /** Decay boundaries in global steps. */
    public long[] decaySteps(long stepsPerEpoch) {
        List<Long> out = new ArrayList<>();
        for (double e : decayEpochs()) {
            out.add(Math.round(e * stepsPerEpoch));
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    /** Total global steps for the run. */
    public long totalSteps(long stepsPerEpoch) {
        long byEpochs = (long) Math.ceil(epochs() * stepsPerEpoch);
        return maxSteps() > 0 ? Math.min(maxSteps(), byEpochs) : byEpochs;
    }
}
