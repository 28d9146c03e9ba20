package io.bitspark.jobs.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import io.bitspark.jobs.io.ModelLoader;
import io.bitspark.jobs.io.Stores;
import io.bitspark.jobs.transfer.Evaluation;
import io.bitspark.jobs.transfer.InMemoryDataset;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code bit evaluate}: accuracy (or mAP) of a checkpoint on a prepared data set, with the commonest confusions. */
@Command(name = "evaluate", mixinStandardHelpOptions = true,
        description = "Evaluate a checkpoint on a prepared data set: top-1/top-5 (or mean average precision for "
                + "multi-label data) and a confusion summary.")
public final class EvaluateCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    CheckpointOptions source;

    @Option(names = "--data", required = true, paramLabel = "URI", description = "Prepared data set.")
    String data;

    @Option(names = "--split", defaultValue = "holdout", description = "train or holdout (default: ${DEFAULT-VALUE}).")
    String split;

    @Option(names = "--resolution", defaultValue = "128", description = "Evaluation size (default: ${DEFAULT-VALUE}).")
    int resolution;

    @Option(names = "--max", defaultValue = "0", description = "At most this many images; 0 for all (default: ${DEFAULT-VALUE}).")
    int max;

    @Override
    public Integer call() throws Exception {
        ModelLoader.Loaded m = ModelLoader.load(source.checkpoint, source.importOptions(), false);
        InMemoryDataset d = InMemoryDataset.load(data, split, Stores.hadoopConfiguration()).firstN(max);
        if (d.classes() != m.spec().numClasses()) {
            throw new IllegalArgumentException(m.source() + " has " + m.spec().numClasses() + " outputs but " + data + " has "
                    + d.classes() + " classes; fine-tune it first (bit finetune)");
        }
        if (m.provenance() != null && m.provenance().classNames() != null) {
            d.requireClasses(m.provenance().classNames(), m.source(), data);
        }
        Evaluation.Report r = Evaluation.evaluate(m.net(), d, resolution);
        PrintWriter out = spec.commandLine().getOut();
        out.printf(Locale.ROOT, "%s on %s (%s split, %d images, %d classes):%n", m.source(), data, split, d.size(), d.classes());
        r.metrics().forEach((k, v) -> out.printf(Locale.ROOT, "  %s = %.4f%n", k, v));
        if (!r.confusions().isEmpty()) {
            out.println("most frequent confusions (true -> predicted: count):");
            List<String> lines = new ArrayList<>(r.confusions());
            lines.forEach(l -> out.println("  " + l));
        }
        out.flush();
        return 0;
    }
}
