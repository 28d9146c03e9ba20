package io.bitspark.model.runtime;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Environment variables a training process should start with. Both act before the JVM runs, so they are set
 * by {@code bin/bit}, the test runner and, for executors, {@code spark.executorEnv.*}; a process started
 * without them still works, slower, and says so once in its log.
 *
 * <ul>
 *   <li>{@code OMP_WAIT_POLICY=PASSIVE}: libnd4j's OpenMP threads otherwise spin after every native op and
 *       starve the JVM threads that run GroupNorm and weight standardization.</li>
 *   <li>{@code MALLOC_ARENA_MAX=1}, {@code MALLOC_MMAP_MAX_=0}, {@code MALLOC_TRIM_THRESHOLD_=16 GiB}: oneDNN
 *       allocates its convolution work buffers (tens to hundreds of MB) with malloc on every call. With
 *       glibc's defaults those come from per-thread arenas or fresh mmaps that are unmapped on free, so every
 *       training step faults in the same memory again (about 65,000 page faults per R50x1 step at 128x128,
 *       batch 8). One arena that never returns memory to the kernel keeps those pages mapped: the step
 *       measured 1.09 s -> 0.75 s with the fused kernels, at the same peak memory (docs/BENCHMARKS.md).</li>
 * </ul>
 */
public final class NativeEnvironment {

    private static final Logger LOG = LoggerFactory.getLogger(NativeEnvironment.class);

    /** Variable -> recommended value, in the order bin/bit sets them. */
    public static final Map<String, String> RECOMMENDED;

    static {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("OMP_WAIT_POLICY", "PASSIVE");
        m.put("MALLOC_ARENA_MAX", "1");
        m.put("MALLOC_MMAP_MAX_", "0");
        m.put("MALLOC_TRIM_THRESHOLD_", String.valueOf(16L << 30));
        RECOMMENDED = java.util.Collections.unmodifiableMap(m);
    }

    private static volatile boolean checked;

    private NativeEnvironment() {}

    /**
     * The recommended variables {@code env} does not set, with their recommended values. A variable set to
     * another value counts as the user's choice, not as missing.
     */
    public static Map<String, String> missing(UnaryOperator<String> env) {
        Map<String, String> out = new LinkedHashMap<>();
        RECOMMENDED.forEach((k, v) -> {
            if (env.apply(k) == null) {
                out.put(k, v);
            }
        });
        return out;
    }

    /** One-line summary of this process's settings, for benchmark reports and logs. */
    public static String describe() {
        StringBuilder b = new StringBuilder();
        RECOMMENDED.keySet().forEach(k -> b.append(b.length() == 0 ? "" : " ").append(k).append('=')
                .append(System.getenv(k) == null ? "(unset)" : System.getenv(k)));
        return b.toString();
    }

    /** Logs once per process which recommended variables this process was started without. */
    public static void warnIfMissing() {
        if (checked) {
            return;
        }
        checked = true;
        Map<String, String> miss = missing(System::getenv);
        if (!miss.isEmpty()) {
            LOG.warn("this process was started without {} (bin/bit sets them; see NativeEnvironment): native layers "
                    + "run slower (page faults on every step, spinning OpenMP threads)", miss.keySet());
        }
    }
}
