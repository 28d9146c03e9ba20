package io.bitspark.jobs.cli;

import io.bitspark.model.checkpoint.BitNpz;
import picocli.CommandLine.Option;

/** Options shared by commands that read a checkpoint. */
public final class CheckpointOptions {

    @Option(names = "--checkpoint", required = true, paramLabel = "URI",
            description = "A checkpoint directory, an official BiT .npz, or a DL4J .zip (local path, file://, hdfs://, s3a://).")
    String checkpoint;

    @Option(names = "--groups", paramLabel = "G",
            description = "GroupNorm groups of an .npz without provenance (default: BiT's 32).")
    Integer groups;

    BitNpz.ImportOptions importOptions() {
        return BitNpz.ImportOptions.defaults().withGroups(groups);
    }
}
