package io.bitspark.jobs.suite;

import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValue;

import io.bitspark.jobs.io.Stores;

/**
 * A transfer suite as a HOCON file: tasks (name, group, prepared train and test data sets, per-task flags such
 * as {@code flip = false}, as the paper's supplement turns flips off for structured tasks), the overrides of
 * the BiT-HyperRule that apply to every task alike, and an optional grid for the 800/200 selection protocol.
 * Relative data paths are relative to the suite file. Unknown keys and missing fields are errors naming the
 * task and the field.
 *
 * <pre>
 * suite {
 *   name = local
 *   transfer { steps = 200, batch = 32, resize = 40, crop = 32 }   # optional, same for every task
 *   select { lr = [0.001, 0.003, 0.01], steps = [100, 200] }       # optional, used with --select
 *   tasks = [
 *     { name = rotation, group = structured, train = data/rotation/train, test = data/rotation/test, flip = false }
 *   ]
 * }
 * </pre>
 */
public record SuiteSpec(String name, String source, Overrides transfer, Grid select, List<Task> tasks) implements Serializable {

    /** One task: data set URIs resolved against the suite file. */
    public record Task(String name, String group, String train, String test, boolean flip, int trainMax, int testMax)
            implements Serializable {}

    /** Overrides of the rule's values; nulls keep the rule's. */
    public record Overrides(Long steps, Double lr, Integer batch, Integer microBatch, Integer resize, Integer crop, Double mixup)
            implements Serializable {
        public static final Overrides NONE = new Overrides(null, null, null, null, null, null, null);

        /** {@code other}'s values where set, else these. */
        public Overrides then(Overrides other) {
            return new Overrides(pick(other.steps, steps), pick(other.lr, lr), pick(other.batch, batch),
                    pick(other.microBatch, microBatch), pick(other.resize, resize), pick(other.crop, crop), pick(other.mixup, mixup));
        }

        private static <T> T pick(T a, T b) {
            return a != null ? a : b;
        }
    }

    /** The declared grid of the 800/200 protocol: each list empty when the rule's value is kept. */
    public record Grid(List<Double> lr, List<Long> steps) implements Serializable {
        public boolean isEmpty() {
            return lr.isEmpty() && steps.isEmpty();
        }
    }

    private static final Set<String> SUITE_KEYS = Set.of("name", "transfer", "select", "tasks");
    private static final Set<String> TASK_KEYS = Set.of("name", "group", "train", "test", "flip", "train_max", "test_max");
    private static final Set<String> TRANSFER_KEYS = Set.of("steps", "lr", "batch", "micro_batch", "resize", "crop", "mixup");
    private static final Set<String> SELECT_KEYS = Set.of("lr", "steps");

    /** Reads the suite at {@code uri} (local path, file://, hdfs://, s3a://). */
    public static SuiteSpec load(String uri) throws IOException {
        Stores.Location loc = Stores.locate(uri);
        String text;
        try (InputStream in = loc.store().open(loc.name())) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        Config c;
        try {
            c = ConfigFactory.parseString(text).resolve();
        } catch (ConfigException e) {
            throw new IllegalArgumentException(loc.uri() + ": " + e.getMessage());
        }
        return parse(c, loc.uri(), relative -> loc.store().uri(relative));
    }

    /** Resolves a data path written in the suite file. */
    public interface Resolver {
        String resolve(String relative);
    }

    static SuiteSpec parse(Config root, String source, Resolver resolver) {
        if (!root.hasPath("suite")) {
            throw new IllegalArgumentException(source + ": no 'suite' block");
        }
        Config c = root.getConfig("suite");
        unknown(c, SUITE_KEYS, source, "suite");
        String name = c.hasPath("name") ? c.getString("name") : "suite";
        Overrides transfer = Overrides.NONE;
        if (c.hasPath("transfer")) {
            Config t = c.getConfig("transfer");
            unknown(t, TRANSFER_KEYS, source, "suite.transfer");
            transfer = new Overrides(t.hasPath("steps") ? t.getLong("steps") : null, t.hasPath("lr") ? t.getDouble("lr") : null,
                    t.hasPath("batch") ? t.getInt("batch") : null, t.hasPath("micro_batch") ? t.getInt("micro_batch") : null,
                    t.hasPath("resize") ? t.getInt("resize") : null, t.hasPath("crop") ? t.getInt("crop") : null,
                    t.hasPath("mixup") ? t.getDouble("mixup") : null);
        }
        Grid grid = new Grid(List.of(), List.of());
        if (c.hasPath("select")) {
            Config g = c.getConfig("select");
            unknown(g, SELECT_KEYS, source, "suite.select");
            grid = new Grid(g.hasPath("lr") ? List.copyOf(g.getDoubleList("lr")) : List.of(),
                    g.hasPath("steps") ? List.copyOf(g.getLongList("steps")) : List.of());
        }
        if (!c.hasPath("tasks") || c.getConfigList("tasks").isEmpty()) {
            throw new IllegalArgumentException(source + ": suite.tasks lists no task");
        }
        List<Task> tasks = new ArrayList<>();
        Set<String> names = new HashSet<>();
        List<? extends Config> list = c.getConfigList("tasks");
        for (int i = 0; i < list.size(); i++) {
            Config t = list.get(i);
            String where = "suite.tasks[" + i + "]" + (t.hasPath("name") ? " (" + t.getString("name") + ")" : "");
            unknown(t, TASK_KEYS, source, where);
            for (String required : List.of("name", "group", "train", "test")) {
                if (!t.hasPath(required)) {
                    throw new IllegalArgumentException(source + ": " + where + " has no '" + required + "'");
                }
            }
            String n = t.getString("name");
            if (!n.matches("[A-Za-z0-9._-]+")) {
                throw new IllegalArgumentException(source + ": " + where + ": name must be letters, digits, '.', '_' or '-'");
            }
            if (!names.add(n)) {
                throw new IllegalArgumentException(source + ": " + where + ": a task named '" + n + "' comes earlier");
            }
            tasks.add(new Task(n, t.getString("group"), path(t.getString("train"), resolver), path(t.getString("test"), resolver),
                    !t.hasPath("flip") || t.getBoolean("flip"), t.hasPath("train_max") ? t.getInt("train_max") : 0,
                    t.hasPath("test_max") ? t.getInt("test_max") : 0));
        }
        return new SuiteSpec(name, source, transfer, grid, List.copyOf(tasks));
    }

    private static String path(String p, Resolver resolver) {
        return p.startsWith("/") || p.contains("://") || p.startsWith("file:") ? p : resolver.resolve(p);
    }

    private static void unknown(Config c, Set<String> known, String source, String where) {
        for (Map.Entry<String, ConfigValue> e : c.root().entrySet()) {
            if (!known.contains(e.getKey())) {
                throw new IllegalArgumentException(source + ": unknown key '" + e.getKey() + "' in " + where + " (known: "
                        + String.join(", ", new java.util.TreeSet<>(known)) + ")");
            }
        }
    }
}
