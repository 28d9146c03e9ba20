package io.bitspark.jobs.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import io.bitspark.jobs.BitMain;
import io.bitspark.model.checkpoint.LocalStore;
import io.bitspark.model.run.RunDirectory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bit demo}: the whole system on an embedded default, through the same commands a user runs:
 * Fashion-MNIST (Debian package) -> prepare -> pre-train on 6 classes -> export .npz -> few-shot transfer to
 * the 4 other classes against random initialisation -> report.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run prepare -> pretrain (Fashion-MNIST classes 0-5) -> export .npz -> few-shot transfer "
                + "(classes 6-9, vs random init) -> report, with Spark local[*] by default; prints where everything is.")
public final class DemoCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--output", defaultValue = "/tmp/bit-demo", description = "Directory for everything (default: ${DEFAULT-VALUE}).")
    Path output;

    @Option(names = "--per-class", defaultValue = "1000", description = "Pre-training images per class (default: ${DEFAULT-VALUE}).")
    int perClass;

    @Option(names = "--seeds", defaultValue = "3", description = "Few-shot draws per k (default: ${DEFAULT-VALUE}; the paper's "
            + "protocol draws 5).")
    int seeds;

    private PrintWriter out;

    @Override
    public Integer call() throws Exception {
        out = spec.commandLine().getOut();
        Path images = output.resolve("images");
        Path upstream = output.resolve("data/upstream");
        Path downstream = output.resolve("data/downstream");
        Path downstreamTest = output.resolve("data/downstream-test");
        Path run = output.resolve("runs/pretrain");
        Path npz = output.resolve("models/bit-tiny-fashion6.npz");
        Path fewshot = output.resolve("runs/fewshot");
        for (Path p : List.of(upstream, downstream, downstreamTest, run, fewshot)) {
            delete(p);
        }
        long t0 = System.nanoTime();
        step("1/7 images: Fashion-MNIST classes 0-5 (upstream) and 6-9 (downstream) as image folders",
                "fashion-mnist", "--output", images.resolve("upstream").toString(), "--split", "train", "--classes", "0-5",
                "--per-class", String.valueOf(perClass));
        step(null, "fashion-mnist", "--output", images.resolve("downstream").toString(), "--split", "train,test",
                "--classes", "6-9", "--per-class", "200");
        step("2/7 prepare: upstream shards", "prepare", "--input", images.resolve("upstream/train").toString(),
                "--format", "imagefolder", "--output", upstream.toString(), "--holdout", "0.05", "--shard-size-mb", "1");
        step(null, "prepare", "--input", images.resolve("downstream/train").toString(), "--format", "imagefolder",
                "--output", downstream.toString(), "--holdout", "0");
        step(null, "prepare", "--input", images.resolve("downstream/test").toString(), "--format", "imagefolder",
                "--output", downstreamTest.toString(), "--holdout", "0");
        step("3/7 pretrain: tiny ResNet-v2, local preset, 2 workers with parameter averaging", "pretrain", "--preset",
                "local", "--data", upstream.toString(), "--output", run.toString());
        String checkpoint = latestCheckpoint(run);
        step("4/7 export: official BiT .npz", "export", "--checkpoint", checkpoint, "--format", "npz", "--output", npz.toString());
        step("5/7 few-shot: 1, 5, 10 images per class of 4 unseen classes, pre-trained vs random init (the paper's protocol: "
                + "500 HyperRule steps each, here batch 16 at 32x32)", "fewshot",
                "--checkpoint", npz.toString(), "--data", downstream.toString(), "--eval-data", downstreamTest.toString(),
                "--eval-max", "400", "--shots", "1,5,10", "--seeds", String.valueOf(seeds), "--compare-random",
                "--protocol", "bit", "--batch", "16", "--resize", "36", "--crop", "32", "--output", fewshot.toString());
        Files.copy(fewshot.resolve("fewshot.json"), run.resolve("fewshot.json"), StandardCopyOption.REPLACE_EXISTING);
        step("6/7 report", "report", run.toString());
        out.printf(Locale.ROOT, "%n7/7 done in %.1f min. Artifacts:%n", (System.nanoTime() - t0) / 60e9);
        out.printf(Locale.ROOT, "  shards:      %s (bit info %s)%n", upstream, upstream);
        out.printf(Locale.ROOT, "  checkpoint:  %s%n", checkpoint);
        out.printf(Locale.ROOT, "  metrics:     %s%n", run.resolve("metrics"));
        out.printf(Locale.ROOT, "  BiT .npz:    %s (+ .provenance.json)%n", npz);
        out.printf(Locale.ROOT, "  few-shot:    %s%n", fewshot.resolve("fewshot.md"));
        out.printf(Locale.ROOT, "  report:      %s%n%n", run.resolve("report/index.html"));
        out.print(Files.readString(fewshot.resolve("fewshot.md")));
        out.flush();
        return 0;
    }

    private void step(String title, String... args) {
        if (title != null) {
            out.printf(Locale.ROOT, "%n== %s%n", title);
            out.flush();
        }
        StringWriter err = new StringWriter();
        int code = BitMain.run(out, new PrintWriter(err, true), args);
        if (code != 0) {
            throw new IllegalStateException("demo step 'bit " + String.join(" ", args) + "' failed: " + err.toString().strip());
        }
    }

    private static String latestCheckpoint(Path run) throws Exception {
        RunDirectory dir = new RunDirectory(new LocalStore(run));
        RunDirectory.Checkpoint c = dir.newestComplete();
        if (c == null) {
            throw new IllegalStateException(run + ": pre-training wrote no complete checkpoint");
        }
        return run.resolve(c.dir()).toString();
    }

    private static void delete(Path p) throws Exception {
        if (Files.exists(p)) {
            try (Stream<Path> s = Files.walk(p)) {
                List<Path> all = new ArrayList<>(s.toList());
                java.util.Collections.reverse(all);
                for (Path x : all) {
                    Files.delete(x);
                }
            }
        }
    }
}
