package io.bitspark.model.arch;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The architectures of the BiT release (R50x1 ... R152x4) and small specs for tests and local runs.
 * Depth to units is a table, as in the release: R50 [3,4,6,3], R101 [3,4,23,3], R152 [3,8,36,3].
 */
public final class ResNetV2Presets {

    private static final List<Integer> R50 = List.of(3, 4, 6, 3);
    private static final List<Integer> R101 = List.of(3, 4, 23, 3);
    private static final List<Integer> R152 = List.of(3, 8, 36, 3);

    /** Default head size of the presets: ILSVRC-2012. */
    public static final int DEFAULT_CLASSES = 1000;

    private static final Map<String, ResNetV2Spec> PRESETS;
    private static final Map<String, String> DESCRIPTIONS;

    static {
        Map<String, ResNetV2Spec> p = new LinkedHashMap<>();
        Map<String, String> d = new LinkedHashMap<>();
        add(p, d, ResNetV2Spec.bit("r50x1", R50, 1, DEFAULT_CLASSES), "BiT-S/M-R50x1");
        add(p, d, ResNetV2Spec.bit("r50x3", R50, 3, DEFAULT_CLASSES), "BiT-S/M-R50x3");
        add(p, d, ResNetV2Spec.bit("r101x1", R101, 1, DEFAULT_CLASSES), "BiT-S/M-R101x1");
        add(p, d, ResNetV2Spec.bit("r101x3", R101, 3, DEFAULT_CLASSES), "BiT-S/M-R101x3");
        add(p, d, ResNetV2Spec.bit("r152x2", R152, 2, DEFAULT_CLASSES), "BiT-S/M-R152x2");
        add(p, d, ResNetV2Spec.bit("r152x4", R152, 4, DEFAULT_CLASSES), "BiT-S/M-R152x4");
        // Width 1/8, two units per stage: every code path (root, projection with stride 1 and 2,
        // identity units, head) at a size that trains on a laptop.
        add(p, d, new ResNetV2Spec("tiny", List.of(2, 2, 2, 2), 8, 4, ResNetV2Spec.BIT_GN_EPSILON,
                ResNetV2Spec.BIT_WS_EPSILON, 10, ResNetV2Spec.Stem.BIT), "test/local: width 1/8, 2 units per stage");
        // Two stages, width 1/32: small enough for whole-network finite-difference gradient checks.
        add(p, d, new ResNetV2Spec("micro", List.of(2, 1), 2, 2, ResNetV2Spec.BIT_GN_EPSILON,
                ResNetV2Spec.BIT_WS_EPSILON, 5, ResNetV2Spec.Stem.BIT), "gradient checks: 2 stages, width 1/32");
        PRESETS = Collections.unmodifiableMap(p);
        DESCRIPTIONS = Collections.unmodifiableMap(d);
    }

    private static void add(Map<String, ResNetV2Spec> p, Map<String, String> d, ResNetV2Spec s, String description) {
        p.put(s.name(), s);
        d.put(s.name(), description);
    }

    private ResNetV2Presets() {}

    /** All preset names in table order. */
    public static List<String> names() {
        return List.copyOf(PRESETS.keySet());
    }

    /** The six architectures of the BiT release. */
    public static List<String> bitNames() {
        return List.of("r50x1", "r50x3", "r101x1", "r101x3", "r152x2", "r152x4");
    }

    public static String description(String name) {
        return DESCRIPTIONS.get(normalize(name));
    }

    /**
     * Looks a preset up by name, case-insensitively; release names such as {@code BiT-M-R50x1} are accepted.
     *
     * @throws IllegalArgumentException naming the known presets when there is no such preset
     */
    public static ResNetV2Spec get(String name) {
        ResNetV2Spec s = PRESETS.get(normalize(name));
        if (s == null) {
            throw new IllegalArgumentException("unknown preset '" + name + "'; known presets: " + String.join(", ", names()));
        }
        return s;
    }

    private static String normalize(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        if (n.startsWith("bit-s-") || n.startsWith("bit-m-") || n.startsWith("bit-l-")) {
            n = n.substring(6);
        }
        return n;
    }
}
