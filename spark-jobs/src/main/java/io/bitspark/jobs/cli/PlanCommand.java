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

    @Option(names = "--round-steps", defaultValue = "10", description = "Steps per Spark round: the run's log.every_steps, or less "
            + "where evaluation or checkpoints come more often (default: ${DEFAULT-VALUE}).")
    int roundSteps;

    @Option(names = "--data-ms-per-image", defaultValue = "0", description = "Loading one image on one core, in ms (bin/bit bench --data "
            + "DIR --resolution R on the executors' CPU); 0: loading is not modelled (default).")
    double dataMsPerImage;

    @Option(names = "--loader-cores", defaultValue = "0", description = "Cores per executor that load data beside the device; 0: the "
            + "compute cores load too, as on a CPU executor (default: ${DEFAULT-VALUE}).")
    int loaderCores;

    @Option(names = "--from-run", paramLabel = "RUN", description = "Fit the device's rate, the link's efficiency, the update, loading "
            + "and the round trip to a finished pre-training run's metrics (local path or URI); the question is that run's unless "
            + "options above change it (e.g. --executors 64, with --link-gbps the run's link).")
    String fromRun;

    private boolean given(String option) {
        return spec.commandLine().getParseResult().hasMatchedOption(option);
    }

    @Override
    public Integer call() throws java.io.IOException {
        if (roundSteps < 1 || dataMsPerImage < 0 || loaderCores < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), String.format(Locale.ROOT, "--round-steps must be at least 1 "
                    + "(got %d), --data-ms-per-image and --loader-cores at least 0 (got %s and %d)", roundSteps, dataMsPerImage, loaderCores));
        }
        Devices d = deviceImagesPerSec != null
                ? new Devices("custom", deviceImagesPerSec, (long) (deviceMemoryGib * (1L << 30)), "--device-images-per-sec " + deviceImagesPerSec)
                : Devices.get(device);
        Planner.Question question = new Planner.Question(preset, classes, resolution, images, epochs, executors, d, linkGbps,
                globalBatch, microBatch, averagingFrequency).withRoundSteps(roundSteps).withData(dataMsPerImage / 1e3, loaderCores);
        Planner.Constants constants = Planner.Constants.MEASURED;
        PrintWriter w = spec.commandLine().getOut();
        if (fromRun != null) {
            io.bitspark.jobs.plan.RunFit fit = io.bitspark.jobs.plan.RunFit.fit(io.bitspark.jobs.io.Stores.directory(fromRun), linkGbps, constants);
            w.println(fit.summary());
            Planner.Question f = fit.question();
            question = new Planner.Question(given("--preset") ? preset : f.preset(), given("--classes") ? classes : f.classes(),
                    given("--resolution") ? resolution : f.resolution(), given("--images") ? images : f.images(),
                    given("--epochs") ? epochs : f.epochs(), given("--executors") ? executors : f.executors(),
                    given("--device") || given("--device-images-per-sec") ? d : f.device(), linkGbps,
                    given("--global-batch") ? globalBatch : f.globalBatch(), given("--micro-batch") ? microBatch : f.microBatch(),
                    given("--averaging-frequency") ? averagingFrequency : f.averagingFrequency(),
                    given("--round-steps") ? roundSteps : f.roundSteps(),
                    given("--data-ms-per-image") ? dataMsPerImage / 1e3 : f.dataSecondsPerImage(),
                    given("--loader-cores") ? loaderCores : f.loaderCores());
            constants = fit.constants();
        }
        Planner.Plan p = Planner.plan(question, constants);
        Planner.Question q = p.q();
        double gib = 1L << 30;
        w.printf(Locale.ROOT, "%s, %,d classes, at %d px: %,d parameters, %.2f G multiply-accumulates per image forward%n", q.preset(), q.classes(),
                q.resolution(), p.cost().params(), p.cost().forwardMacs() / 1e9);
        w.printf(Locale.ROOT, "%d executors x %s (%s), %.0f Gbit/s links, global batch %d (%d per executor), averaging every %d step(s)%n",
                q.executors(), q.device().name(), q.device().source(), q.linkGbps(), q.globalBatch(), q.globalBatch() / q.executors(),
                Math.max(1, q.averagingFrequency()));
        String work = q.dataSecondsPerImage() <= 0 ? String.format(Locale.ROOT, "compute %.3f", p.computeSeconds())
                : q.loaderCores() == 0 ? String.format(Locale.ROOT, "compute %.3f + data %.3f", p.computeSeconds(), p.dataSeconds())
                : String.format(Locale.ROOT, "max(compute %.3f, data %.3f on %d loader cores)", p.computeSeconds(), p.dataSeconds(), q.loaderCores());
        w.printf(Locale.ROOT, "step: %.3f s = %s + exchange %.3f + update %.4f + scheduling %.3f (a Spark round per %d steps); bottleneck: %s%s%n",
                p.stepSeconds(), work, p.exchangeSeconds(), p.updateSeconds(), p.schedulingSeconds(), q.roundSteps(), p.bottleneck(),
                q.dataSecondsPerImage() <= 0 ? "; data loading not modelled (--data-ms-per-image)" : "");
        w.printf(Locale.ROOT, "traffic: %.1f MB sent (and received) per executor per step, none through the driver%n",
                p.bytesPerExecutorPerStep() / 1e6);
        w.printf(Locale.ROOT, "throughput: %,.0f images/s; %,d steps for %.0f epochs of %,d images: %.1f hours (%.1f days), %,.0f executor-hours%n",
                p.imagesPerSecond(), p.steps(), q.epochs(), q.images(), p.trainHours(), p.trainHours() / 24, p.executorHours());
        w.printf(Locale.ROOT, "memory per executor: %.2f GiB = parameters+gradients+momentum %.2f + kept standardized kernels %.2f + "
                        + "activations of a micro-batch of %d %.2f + base %.2f%s%n",
                p.memoryBytes() / gib, p.paramBytes() / gib, p.kernelCopyBytes() / gib,
                q.microBatch() > 0 ? Math.min(q.microBatch(), q.globalBatch() / q.executors()) : q.globalBatch() / q.executors(),
                p.activationBytes() / gib,
                p.baseBytes() / gib, p.fits() ? "" : String.format(Locale.ROOT, "; more than the device's %.0f GiB", q.device().memoryBytes() / gib));
        if (!p.fits()) {
            int m = Planner.largestFittingMicroBatch(p.q(), constants);
            w.println(m == 0 ? "no micro-batch fits: the model alone exceeds the device; use a device with more memory"
                    : "the largest micro-batch that fits (powers of 2): --micro-batch " + m);
        }
        w.flush();
        return 0;
    }
}
