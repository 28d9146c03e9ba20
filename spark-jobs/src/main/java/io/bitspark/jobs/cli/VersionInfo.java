package io.bitspark.jobs.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

import picocli.CommandLine;

/** Versions of this build and of the libraries it was built against, from the jar's build properties. */
public final class VersionInfo implements CommandLine.IVersionProvider {

    private static final Properties PROPS = load();

    private static Properties load() {
        Properties p = new Properties();
        try (InputStream in = VersionInfo.class.getResourceAsStream("/bit-build.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            // Fall through with an empty set: versions print as "unknown".
        }
        return p;
    }

    public static String get(String key) {
        return PROPS.getProperty(key, "unknown");
    }

    /** The version checkpoints record, with its git commit ({@link io.bitspark.model.checkpoint.BuildInfo#codeVersion}). */
    public static String codeVersion() {
        return io.bitspark.model.checkpoint.BuildInfo.codeVersion();
    }

    @Override
    public String[] getVersion() {
        return new String[] {
                "bit " + codeVersion(),
                "deeplearning4j " + get("dl4j.version") + ", dl4j-spark " + get("dl4j.spark.version")
                        + ", nd4j backend " + get("nd4j.backend") + " (" + get("nd4j.classifier") + ")",
                "spark " + get("spark.version") + ", scala " + get("scala.version") + ", java " + System.getProperty("java.version"),
        };
    }
}
