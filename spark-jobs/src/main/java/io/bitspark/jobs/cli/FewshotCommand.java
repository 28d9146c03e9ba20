package io.bitspark.jobs.cli;

import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import io.bitspark.jobs.io.ModelLoader;
import io.bitspark.jobs.io.Stores;
import io.bitspark.jobs.transfer.FewShot;
import io.bitspark.jobs.transfer.InMemoryDataset;
import io.bitspark.model.checkpoint.ArtifactStore;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code bit fewshot}: k-shot transfer by fine-tuning and by linear probe, over seeds. */
@Command(name = "fewshot", mixinStandardHelpOptions = true,
        description = "Few-shot transfer: for each k and seed, k images per class; HyperRule fine-tuning and a ridge "
                + "linear probe on frozen pre-logits, evaluated on the evaluation set; a table of medians and ranges.")
public final class FewshotCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    CheckpointOptions source;

    @Mixin
    TransferDataOptions data;

    @Option(names = "--shots", defaultValue = "1,5,10,25", split = ",", description = "Images per class (default: ${DEFAULT-VALUE}).")
    int[] shots;

    @Option(names = "--seeds", description = "Balanced random draws per k (default: 5 with --protocol bit, else 3).")
    Integer seeds;

    @Option(names = "--protocol", defaultValue = "custom",
            description = "bit: the paper's protocol (section 4.2): 5 balanced random subsamples per k, full fine-tuning with the "
                    + "HyperRule's schedule (500 steps, base lr 0.003; --steps and --lr are refused, batch and resolution may be "
                    + "set), median and range, the ridge probe beside it. custom: any override (default: ${DEFAULT-VALUE}).")
    String protocol;

    @Option(names = "--compare-random", description = "Also run everything from a randomly initialised network.")
    boolean compareRandom;

    @Option(names = "--output", required = true, paramLabel = "URI", description = "Directory for fewshot.json and fewshot.md.")
    String output;

    @Mixin
    TransferOptions transfer;

    @Override
    public Integer call() throws Exception {
        if (!protocol.equals("bit") && !protocol.equals("custom")) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--protocol is bit or custom, not '" + protocol + "'");
        }
        if (protocol.equals("bit") && (transfer.steps != null || transfer.lr != null)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--protocol bit fine-tunes with the HyperRule's schedule; "
                    + "drop --steps and --lr, or use --protocol custom");
        }
        int draws = seeds != null ? seeds : protocol.equals("bit") ? 5 : 3;
        ModelLoader.Loaded m = ModelLoader.load(source.checkpoint, source.importOptions(), false);
        InMemoryDataset train = data.train();
        InMemoryDataset eval = data.eval(train);
        List<FewShot.Row> rows = FewShot.run(m.net(), m.spec(), train, eval, shots, draws, transfer.seed, compareRandom,
                size -> transfer.settings(size, train.medianWidth(), train.medianHeight()));
        String table = FewShot.table(rows);
        ArtifactStore out = Stores.directory(output);
        try (OutputStream os = out.create("fewshot.json")) {
            os.write(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(rows));
        }
        try (OutputStream os = out.create("fewshot.md")) {
            java.util.Map<String, Object> d = new java.util.LinkedHashMap<>(transfer.settings(shots[0] * (long) train.classes(),
                    train.medianWidth(), train.medianHeight()).asMap());
            d.remove("seed");
            os.write(("Few-shot transfer of " + m.source() + " to " + data.data + " (" + train.classes() + " classes), evaluated on "
                    + eval.size() + " images; protocol " + protocol + ", " + draws + " balanced draws per k; fine-tuning: "
                    + d + "\n\n" + table).getBytes(StandardCharsets.UTF_8));
        }
        PrintWriter w = spec.commandLine().getOut();
        w.print(table);
        w.printf(Locale.ROOT, "results in %s%n", out.uri("fewshot.md"));
        w.flush();
        return 0;
    }
}
