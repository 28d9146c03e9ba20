package io.bitspark.jobs.cli;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;

import io.bitspark.jobs.plan.Devices;
import io.bitspark.jobs.plan.Planner;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bit plan}: how long a pre-training run takes on N executors, what it moves, what each executor needs. */
@Command(name = "plan", mixinStandardHelpOptions = true,
        description = "Predict a synchronous data-parallel pre-training run on the allreduce engine: step time (compute, "
                + "exchange, update, scheduling), images/s, time to train, executor-hours, memory per executor, and the "
                + "bottleneck. Devices come from published figures (cited in the output) or --device-images-per-sec.")
public final class PlanCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--preset", defaultValue = "r50x1", description = "Model preset (default: ${DEFAULT-VALUE}).")
    String preset;

    @Option(names = "--classes", defaultValue = "21843", description = "Head classes (default: ${DEFAULT-VALUE}, ImageNet-21k).")
    int classes;

    @Option(names = "--resolution", defaultValue = "224", description = "Training resolution (default: ${DEFAULT-VALUE}).")
    int resolution;

    @Option(names = "--images", defaultValue = "14000000", description = "Images per epoch (default: ${DEFAULT-VALUE}).")
    long images;

    @Option(names = "--epochs", defaultValue = "90", description = "Epochs (default: ${DEFAULT-VALUE}).")
    double epochs;

    @Option(names = "--executors", defaultValue = "8", description = "Executors, one device each (default: ${DEFAULT-VALUE}).")
    int executors;

    @Option(names = "--device", defaultValue = "a100", description = "Device of each executor: "
            + "a100-80gb (a100), a100-40gb, v100-16gb (v100), v100-32gb, cpu-2core (cpu) (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--device-images-per-sec", description = "Instead of --device's figure: R50x1 training images/s at 224 on one device.")
    Double deviceImagesPerSec;

    @Option(names = "--device-memory-gib", description = "With --device-images-per-sec: the device's memory in GiB (0: unbounded).")
    double deviceMemoryGib;

    @Option(names = "--link-gbps", defaultValue = "100", description = "Each executor's network link in Gbit/s (default: ${DEFAULT-VALUE}).")
    double linkGbps;

    @Option(names = "--global-batch", defaultValue = "4096", description = "Images per step over all executors (default: ${DEFAULT-VALUE}, BiT's).")
    int globalBatch;

    @Option(names = "--micro-batch", defaultValue = "0", description = "Images per forward/backward pass; 0: the executor's whole share (default).")
    int microBatch;

    @Option(names = "--averaging-frequency", defaultValue = "1", description = "Steps per exchange (default: ${DEFAULT-VALUE}).")
    int averagingFrequency;

    @Override
    public Integer call() {
        Devices d = deviceImagesPerSec != null
                ? new Devices("custom", deviceImagesPerSec, (long) (deviceMemoryGib * (1L << 30)), "--device-images-per-sec " + deviceImagesPerSec)
                : Devices.get(device);
        Planner.Plan p = Planner.plan(new Planner.Question(preset, classes, resolution, images, epochs, executors, d, linkGbps,
                globalBatch, microBatch, averagingFrequency), Planner.Constants.MEASURED);
        PrintWriter w = spec.commandLine().getOut();
        double gib = 1L << 30;
        w.printf(Locale.ROOT, "%s, %,d classes, at %d px: %,d parameters, %.2f G multiply-accumulates per image forward%n", preset, classes,
                resolution, p.cost().params(), p.cost().forwardMacs() / 1e9);
        w.printf(Locale.ROOT, "%d executors x %s (%s), %.0f Gbit/s links, global batch %d (%d per executor), averaging every %d step(s)%n",
                executors, d.name(), d.source(), linkGbps, globalBatch, globalBatch / executors, Math.max(1, averagingFrequency));
        w.printf(Locale.ROOT, "step: %.3f s = compute %.3f + exchange %.3f + update %.4f + scheduling %.3f; bottleneck: %s%n",
                p.stepSeconds(), p.computeSeconds(), p.exchangeSeconds(), p.updateSeconds(), p.schedulingSeconds(), p.bottleneck());
        w.printf(Locale.ROOT, "traffic: %.1f MB sent (and received) per executor per step, none through the driver%n",
                p.bytesPerExecutorPerStep() / 1e6);
        w.printf(Locale.ROOT, "throughput: %,.0f images/s; %,d steps for %.0f epochs of %,d images: %.1f hours (%.1f days), %,.0f executor-hours%n",
                p.imagesPerSecond(), p.steps(), epochs, images, p.trainHours(), p.trainHours() / 24, p.executorHours());
        w.printf(Locale.ROOT, "memory per executor: %.2f GiB = parameters+gradients+momentum %.2f + kept standardized kernels %.2f + "
                        + "activations of a micro-batch of %d %.2f + base %.2f%s%n",
                p.memoryBytes() / gib, p.paramBytes() / gib, p.kernelCopyBytes() / gib,
                microBatch > 0 ? Math.min(microBatch, globalBatch / executors) : globalBatch / executors, p.activationBytes() / gib,
                p.baseBytes() / gib, p.fits() ? "" : String.format(Locale.ROOT, "; more than the device's %.0f GiB", d.memoryBytes() / gib));
        if (!p.fits()) {
            int m = Planner.largestFittingMicroBatch(p.q(), Planner.Constants.MEASURED);
            w.println(m == 0 ? "no micro-batch fits: the model alone exceeds the device; use a device with more memory"
                    : "the largest micro-batch that fits (powers of 2): --micro-batch " + m);
        }
        w.flush();
        return 0;
    }
}
