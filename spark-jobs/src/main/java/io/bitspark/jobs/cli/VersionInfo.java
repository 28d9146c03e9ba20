package io.bitspark.jobs.cli;

import io.bitspark.build.BuildInfo;
import picocli.CommandLine;

/** {@code bit --version}: this build as provenance records it, and the libraries it was built against. */
public final class VersionInfo implements CommandLine.IVersionProvider {

    @Override
    public String[] getVersion() {
        return new String[] {
                "bit " + BuildInfo.codeVersion(),
                "deeplearning4j " + BuildInfo.get("dl4j.version") + ", dl4j-spark " + BuildInfo.get("dl4j.spark.version")
                        + ", nd4j backend " + BuildInfo.get("nd4j.backend") + " (" + BuildInfo.get("nd4j.classifier") + ")",
                "spark " + BuildInfo.get("spark.version") + ", scala " + BuildInfo.get("scala.version") + ", java "
                        + System.getProperty("java.version"),
        };
    }
}
