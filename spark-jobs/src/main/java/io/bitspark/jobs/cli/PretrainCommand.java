package io.bitspark.jobs.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import io.bitspark.jobs.SparkSessions;
import io.bitspark.jobs.pretrain.PretrainConfig;
import io.bitspark.jobs.pretrain.PretrainJob;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bit pretrain}: BiT upstream pre-training on prepared shards. */
@Command(name = "pretrain", mixinStandardHelpOptions = true,
        description = "Pre-train a BiT ResNet-v2 on a prepared data set with synchronous data-parallel SGD on Spark (sharded all-reduce among resident replicas); "
                + "checkpoints, holdout evaluation and metrics go to the output.")
public final class PretrainCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--preset", required = true, completionCandidates = PretrainConfig.PresetNames.class,
            description = "${COMPLETION-CANDIDATES}, or a .conf file.")
    String preset;

    @Option(names = "--data", required = true, paramLabel = "URI", description = "Prepared data set (bit prepare).")
    String data;

    @Option(names = "--output", required = true, paramLabel = "URI", description = "Run directory: checkpoints/, metrics/.")
    String output;

    @Option(names = "--resume", description = "Continue from the newest checkpoint in the output that verifies in full "
            + "(newer ones that do not are set aside as *.corrupt).")
    boolean resume;

    @Option(names = "--allow-config-change", description = "With --resume: continue with changed schedule settings (base lr, "
            + "warmup, decays, epochs, global batch, seed); the change is recorded in the checkpoints' provenance.")
    boolean allowConfigChange;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override a setting, e.g. --set train.epochs=10 (repeatable).")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--single-process", description = "Run the same steps in this JVM instead of on Spark workers.")
    boolean singleProcess;

    @Override
    public Integer call() throws Exception {
        PretrainConfig cfg = PretrainConfig.load(preset, overrides);
        PretrainJob.Mode mode = singleProcess ? PretrainJob.Mode.SINGLE_PROCESS : PretrainJob.Mode.SPARK;
        PretrainJob.Result r = new PretrainJob(singleProcess ? null : SparkSessions.get("bit pretrain"), cfg, data, output,
                resume, mode).allowConfigChange(allowConfigChange).run();
        PrintWriter out = spec.commandLine().getOut();
        out.printf(Locale.ROOT, "pre-trained %d steps (%d per epoch); holdout %s; last checkpoint %s%n", r.steps(),
                r.stepsPerEpoch(), r.lastEval(), r.lastCheckpoint());
        out.flush();
        return 0;
    }
}
