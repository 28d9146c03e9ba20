package io.bitspark.model.layers;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Time spent inside the project's layers, by kind of work, for the benchmark's phase breakdown. Off by
 * default: when disabled each probe is one field read. Not meant for concurrent networks in one JVM (the
 * totals would mix).
 */
public final class LayerProfiler {

    /** Kinds of work the custom layers do. */
    public enum Kind {
        /** libnd4j conv2d of standardized convolutions. */
        CONV_FORWARD,
        /** libnd4j conv2d_bp (input and kernel gradients). */
        CONV_BACKWARD,
        /** Standardizing kernels (once per step). */
        WS_FORWARD,
        /** Chain rule through the standardization. */
        WS_BACKWARD,
        /** GroupNorm (+ ReLU) forward. */
        GN_FORWARD,
        /** GroupNorm (+ ReLU) backward. */
        GN_BACKWARD
    }

    private static volatile boolean enabled;
    private static final Map<Kind, LongAdder> NANOS = new EnumMap<>(Kind.class);

    static {
        for (Kind k : Kind.values()) {
            NANOS.put(k, new LongAdder());
        }
    }

    private LayerProfiler() {}

    public static void enable(boolean on) {
        enabled = on;
    }

    public static void reset() {
        NANOS.values().forEach(LongAdder::reset);
    }

    /** Seconds recorded per kind since the last reset. */
    public static Map<Kind, Double> seconds() {
        Map<Kind, Double> m = new EnumMap<>(Kind.class);
        NANOS.forEach((k, v) -> m.put(k, v.sum() / 1e9));
        return m;
    }

    /** A start time when enabled, else 0. */
    static long start() {
        return enabled ? System.nanoTime() : 0L;
    }

    /** Adds the time since {@code start} (from {@link #start()}) to {@code kind}; returns now (or 0). */
    static long record(Kind kind, long start) {
        if (start == 0L) {
            return 0L;
        }
        long now = System.nanoTime();
        NANOS.get(kind).add(now - start);
        return now;
    }
}
