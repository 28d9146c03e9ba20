package io.bitspark.jobs.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

import io.bitspark.data.idx.FashionMnist;
import io.bitspark.jobs.BitMain;
import io.bitspark.jobs.suite.SuiteData;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bit suite-data}: the local transfer suite from images on this machine, prepared, with its suite file. */
@Command(name = "suite-data", mixinStandardHelpOptions = true,
        description = "Write the local VTAB-1k-style suite (natural: fashion-unseen, nature-patches; structured: rotation, "
                + "count, location) from Debian's Fashion-MNIST and mate-backgrounds photographs: image folders, prepared "
                + "data sets, and <output>/suite.conf for bit suite.")
public final class SuiteDataCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--output", required = true, description = "Directory to write (images/, data/, suite.conf).")
    Path output;

    @Option(names = "--train", defaultValue = "1000", description = "Training images per task (default: ${DEFAULT-VALUE}, as VTAB-1k).")
    int train;

    @Option(names = "--test", defaultValue = "500", description = "Test images per task (default: ${DEFAULT-VALUE}).")
    int test;

    @Option(names = "--tasks", split = ",", description = "Only these tasks (default: all: fashion-unseen, nature-patches, rotation, count, location).")
    java.util.List<String> tasks;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of every draw (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--fashion-mnist", description = "Directory of the Fashion-MNIST idx files (default: the Debian package's).")
    Path fashion = FashionMnist.DEBIAN_DIR;

    @Option(names = "--photos", description = "Directory of photographs for nature-patches (default: ${DEFAULT-VALUE}).")
    Path photos = SuiteData.NATURE_PHOTOS;

    @Override
    public Integer call() throws Exception {
        System.setProperty("java.awt.headless", "true");
        if (train < 20 || test < 20) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--train and --test must be at least 20 (nature-patches has 12 classes)");
        }
        PrintWriter out = spec.commandLine().getOut();
        Path images = output.resolve("images");
        if (Files.exists(images)) {
            throw new CommandLine.ParameterException(spec.commandLine(), images + " exists; choose a new --output");
        }
        java.util.List<SuiteData.Task> chosen = SuiteData.select(tasks);
        for (String line : new SuiteData(fashion, photos, seed).write(images, train, test, chosen)) {
            out.println("wrote " + line);
        }
        StringBuilder conf = new StringBuilder("# The local transfer suite, written by: bit suite-data --output ").append(output)
                .append(" --train ").append(train).append(" --test ").append(test).append(" --seed ").append(seed).append("\n")
                .append("# One rule for every task: the BiT-HyperRule (500 steps for 1000 images, lr 0.003), with these overrides\n")
                .append("# alike for all: batch 16 instead of 512, and 32x32 crops of a 36x36 resize for a model pre-trained at 32 px.\n")
                .append("suite {\n  name = local\n  transfer { batch = 16, resize = 36, crop = 32 }\n")
                .append("  # --select: VTAB-1k's 800/200 protocol over this grid, then retraining on all training images.\n")
                .append("  select { lr = [0.001, 0.003, 0.01] }\n  tasks = [\n");
        for (SuiteData.Task t : chosen) {
            for (String split : new String[] {"train", "test"}) {
                String[] args = {"prepare", "--input", images.resolve(t.name()).resolve(split).toString(), "--format", "imagefolder",
                        "--output", output.resolve("data").resolve(t.name()).resolve(split).toString(), "--holdout", "0",
                        "--seed", String.valueOf(seed)};
                StringWriter err = new StringWriter();
                int code = BitMain.run(new PrintWriter(new StringWriter()), new PrintWriter(err, true), args);
                if (code != 0) {
                    throw new IllegalStateException("bit " + String.join(" ", args) + " failed: " + err.toString().strip());
                }
            }
            conf.append(String.format(Locale.ROOT, "    { name = %s, group = %s, train = data/%s/train, test = data/%s/test%s }%n",
                    t.name(), t.group(), t.name(), t.name(), t.flip() ? "" : ", flip = false"));
        }
        conf.append("  ]\n}\n");
        Files.writeString(output.resolve("suite.conf"), conf.toString(), StandardCharsets.UTF_8);
        out.printf(Locale.ROOT, "prepared %d tasks under %s; suite file %s%n", chosen.size(), output.resolve("data"),
                output.resolve("suite.conf"));
        out.flush();
        return 0;
    }
}
