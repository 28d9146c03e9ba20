package io.bitspark.jobs.cli;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;

import org.nd4j.linalg.factory.Nd4j;

import io.bitspark.data.image.ImageProcessor;
import io.bitspark.data.image.ProcessorBenchmark;
import io.bitspark.model.arch.ResNetV2Presets;
import io.bitspark.model.arch.ResNetV2Spec;
import io.bitspark.model.bench.CheckpointIoBenchmark;
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

    @Option(names = "--prepare-dir", paramLabel = "DIR",
            description = "Instead: time the per-image work of prepare (decode, resize, hash, encode) on DIR in one thread.")
    java.nio.file.Path prepareDir;

    @Option(names = "--max-side", defaultValue = "256", description = "With --prepare-dir: shorter-side bound (default: ${DEFAULT-VALUE}).")
    int maxSide;

    @Option(names = "--npz-write", paramLabel = "FILE",
            description = "Instead: time exporting the preset with random weights to an official .npz at FILE.")
    java.nio.file.Path npzWrite;

    @Option(names = "--npz-read", paramLabel = "FILE",
            description = "Instead: time importing the official .npz at FILE (run in a fresh process for its own peak memory).")
    java.nio.file.Path npzRead;

    @Override
    public Integer call() throws Exception {
        if (prepareDir != null) {
            ProcessorBenchmark.Result r = ProcessorBenchmark.run(prepareDir,
                    new ImageProcessor.Config(maxSide, 90, 64L << 20, 89_478_485L, 8), Math.max(2, steps / 2));
            PrintWriter out = spec.commandLine().getOut();
            out.printf(Locale.ROOT, "prepare per-image work: %d images (%d accepted), max side %d, best pass %.2f s -> %.1f images/s (1 thread)%n",
                    r.images(), r.ok(), maxSide, r.seconds(), r.imagesPerSecond());
            out.flush();
            return 0;
        }
        ResNetV2Spec s = ResNetV2Presets.get(preset);
        if (classes != null) {
            s = s.withClasses(classes);
        }
        if (npzWrite != null || npzRead != null) {
            CheckpointIoBenchmark.Result io = npzWrite != null
                    ? CheckpointIoBenchmark.write(s, npzWrite, seed) : CheckpointIoBenchmark.read(npzRead);
            PrintWriter out = spec.commandLine().getOut();
            out.printf(Locale.ROOT, "%s %s: %,d parameters, %.2f GiB file, %.1f s, peak RSS %.2f GiB, peak Java heap %.2f GiB%n",
                    io.phase(), npzWrite != null ? npzWrite : npzRead, io.parameters(), io.fileBytes() / (double) (1L << 30),
                    io.seconds(), io.peakRssBytes() / (double) (1L << 30), io.peakHeapBytes() / (double) (1L << 30));
            out.flush();
            return 0;
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
