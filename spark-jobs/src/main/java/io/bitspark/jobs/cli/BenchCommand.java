package io.bitspark.jobs.cli;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;

import org.nd4j.linalg.factory.Nd4j;

import io.bitspark.model.arch.ResNetV2Presets;
import io.bitspark.model.arch.ResNetV2Spec;
import io.bitspark.model.bench.TrainStepBenchmark;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bit bench}: images/s of a training step and of inference for one preset, resolution and batch. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure train-step (forward+backward+update) and forward-only images/s on random data.")
public final class BenchCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--preset", defaultValue = "r50x1", description = "Preset (default: ${DEFAULT-VALUE}).")
    String preset;

    @Option(names = "--classes", description = "Head classes (default: the preset's).")
    Integer classes;

    @Option(names = "--resolution", defaultValue = "128", description = "Square input size (default: ${DEFAULT-VALUE}).")
    int resolution;

    @Option(names = "--batch", defaultValue = "8", description = "Images per step (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--warmup", defaultValue = "2", description = "Untimed steps first (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--steps", defaultValue = "5", description = "Timed steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of weights and data (default: ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() {
        ResNetV2Spec s = ResNetV2Presets.get(preset);
        if (classes != null) {
            s = s.withClasses(classes);
        }
        TrainStepBenchmark.Result r = TrainStepBenchmark.run(
                new TrainStepBenchmark.Config(s, resolution, batch, warmup, steps, seed));
        PrintWriter out = spec.commandLine().getOut();
        out.printf(Locale.ROOT, "preset %s (%,d parameters), %dx%d, batch %d, float32, %d timed steps after %d warm-up%n",
                s.name(), r.parameters(), resolution, resolution, batch, steps, warmup);
        out.printf(Locale.ROOT, "backend %s, %d cores, seed %d%n",
                Nd4j.getExecutioner().getEnvironmentInformation().getProperty("backend", "?"), r.threads(), seed);
        out.printf(Locale.ROOT, "train step:   %.3f s median -> %.2f images/s%n", r.medianTrainSeconds(), r.trainImagesPerSecond());
        out.printf(Locale.ROOT, "forward only: %.3f s median -> %.2f images/s%n", r.medianForwardSeconds(), r.forwardImagesPerSecond());
        out.printf(Locale.ROOT, "peak resident memory: %.2f GiB%n", r.peakRssBytes() / (double) (1L << 30));
        out.flush();
        return 0;
    }
}
