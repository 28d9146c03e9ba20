package io.bitspark.jobs.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import io.bitspark.jobs.io.ModelLoader;
import io.bitspark.jobs.io.Stores;
import io.bitspark.jobs.suite.SuiteReport;
import io.bitspark.jobs.suite.SuiteRunner;
import io.bitspark.jobs.suite.SuiteSpec;
import io.bitspark.model.checkpoint.ArtifactStore;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code bit suite}: one transfer rule over every task of a suite, and one score. */
@Command(name = "suite", mixinStandardHelpOptions = true,
        description = "Transfer a checkpoint to every task of a suite file with the BiT-HyperRule (no per-task tuning; with "
                + "--select, VTAB-1k's 800/200 protocol over the suite's grid, then retraining on all training images): "
                + "per-task, per-group and mean top-1 in suite.json, suite.md and report/index.html. Tasks run as Spark tasks "
                + "on a cluster master, one after another on local[*]; a failed task is reported, not fatal.")
public final class SuiteCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    CheckpointOptions source;

    @Option(names = "--suite", required = true, paramLabel = "URI", description = "The suite file (HOCON; bit suite-data writes one).")
    String suite;

    @Option(names = "--output", required = true, paramLabel = "URI", description = "Directory for suite.json, suite.md and report/.")
    String output;

    @Option(names = "--select", description = "Choose among the suite's select grid on an 800/200 split of each task's training images.")
    boolean select;

    @Option(names = "--init", defaultValue = "pretrained", split = ",",
            description = "pretrained (the checkpoint's weights), random (its architecture, randomly initialised), or both: "
                    + "pretrained,random (default: ${DEFAULT-VALUE}).")
    List<String> inits;

    /** Overrides on top of the suite's transfer block, for every task alike; --seed seeds every task's training and split. */
    @Mixin
    TransferOptions transfer;

    @Override
    public Integer call() throws Exception {
        System.setProperty("java.awt.headless", "true");
        for (String i : inits) {
            if (!i.equals("pretrained") && !i.equals("random")) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--init takes pretrained and/or random, not '" + i + "'");
            }
        }
        SuiteSpec s = SuiteSpec.load(suite);
        if (select && s.select().isEmpty()) {
            throw new CommandLine.ParameterException(spec.commandLine(), s.source() + " declares no select grid for --select");
        }
        SuiteSpec.Overrides o = s.transfer().then(new SuiteSpec.Overrides(transfer.steps, transfer.lr, transfer.batch,
                transfer.microBatch, transfer.resize, transfer.crop, transfer.mixup));
        long seed = transfer.seed;
        ModelLoader.Loaded m = SuiteRunner.model(source.checkpoint, source.groups);
        List<SuiteRunner.Job> jobs = new ArrayList<>();
        for (String init : inits) {
            for (SuiteSpec.Task t : s.tasks()) {
                jobs.add(new SuiteRunner.Job(t, init, source.checkpoint, source.groups, o, s.select(), select, seed));
            }
        }
        long t0 = System.nanoTime();
        List<SuiteRunner.TaskResult> results = SuiteRunner.run(jobs);
        Map<String, Object> header = new LinkedHashMap<>();
        header.put("checkpoint", m.source());
        header.put("architecture", m.spec().name());
        header.put("inits", String.join(",", inits));
        header.put("rule", "BiT-HyperRule" + (o.equals(SuiteSpec.Overrides.NONE) ? "" : " with " + describe(o))
                + (select ? "; --select over " + s.select() : ""));
        header.put("seed", seed);
        header.put("minutes", String.format(Locale.ROOT, "%.1f", (System.nanoTime() - t0) / 60e9));
        ArtifactStore out = Stores.directory(output);
        SuiteReport.write(out, s, header, results);
        PrintWriter w = spec.commandLine().getOut();
        w.print(SuiteReport.table(results));
        w.printf(Locale.ROOT, "results in %s, page %s%n", out.uri("suite.md"), out.uri("report/index.html"));
        w.flush();
        return results.stream().allMatch(SuiteRunner.TaskResult::ok) ? 0 : 1;
    }

    private static String describe(SuiteSpec.Overrides o) {
        StringBuilder sb = new StringBuilder();
        if (o.steps() != null) sb.append("steps ").append(o.steps()).append(", ");
        if (o.lr() != null) sb.append("lr ").append(o.lr()).append(", ");
        if (o.batch() != null) sb.append("batch ").append(o.batch()).append(", ");
        if (o.microBatch() != null) sb.append("micro-batch ").append(o.microBatch()).append(", ");
        if (o.resize() != null) sb.append("resize ").append(o.resize()).append(", ");
        if (o.crop() != null) sb.append("crop ").append(o.crop()).append(", ");
        if (o.mixup() != null) sb.append("mixup ").append(o.mixup()).append(", ");
        return sb.substring(0, sb.length() - 2);
    }
}
