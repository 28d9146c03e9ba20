package io.bitspark.data;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** Version of this build, with its git commit where known, for dataset provenance. */
public final class BuildInfo {

    private static final Properties PROPS = new Properties();

    static {
        for (String r : new String[] {"/bit-data-build.properties", "/bit-git.properties"}) {
            try (InputStream in = BuildInfo.class.getResourceAsStream(r)) {
                if (in != null) {
                    PROPS.load(in);
                }
            } catch (IOException e) {
                // Missing build metadata only makes provenance less specific.
            }
        }
    }

    private BuildInfo() {}

    public static String codeVersion() {
        String v = PROPS.getProperty("bit.version", "unknown");
        String commit = PROPS.getProperty("git.commit.id.abbrev");
        if (commit != null && !commit.isBlank()) {
            v += "+" + commit + ("true".equals(PROPS.getProperty("git.dirty")) ? ".dirty" : "");
        }
        return v;
    }
}
