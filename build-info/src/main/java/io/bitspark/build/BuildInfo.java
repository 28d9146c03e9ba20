package io.bitspark.build;

import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * Version of this build (with its git commit where known) and of the libraries it was built against: what
 * checkpoint and data set provenance record and {@code bit --version} prints, read from the one place the build
 * writes it.
 */
public final class BuildInfo {

    private static final Properties PROPS = new Properties();

    static {
        load("/bit-build.properties");
        load("/bit-git.properties");
    }

    private BuildInfo() {}

    private static void load(String resource) {
        try (InputStream in = BuildInfo.class.getResourceAsStream(resource)) {
            if (in != null) {
                PROPS.load(in);
            }
        } catch (IOException e) {
            // Missing build metadata only makes provenance less specific.
        }
    }

    /** A recorded build property, or {@code unknown}. */
    public static String get(String key) {
        return PROPS.getProperty(key, "unknown");
    }

    /** {@code 0.1.0-SNAPSHOT+3f2a9c1} (with {@code .dirty} for builds from modified trees). */
    public static String codeVersion() {
        String v = get("bit.version");
        String commit = PROPS.getProperty("git.commit.id.abbrev");
        if (commit != null && !commit.isBlank()) {
            v += "+" + commit + ("true".equals(PROPS.getProperty("git.dirty")) ? ".dirty" : "");
        }
        return v;
    }

    /** Library versions that decide numerics and file formats. */
    public static Map<String, String> libraries() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("deeplearning4j", get("dl4j.version"));
        m.put("nd4j-backend", get("nd4j.backend") + ":" + get("nd4j.classifier"));
        m.put("java", System.getProperty("java.version"));
        return m;
    }
}
