package io.bitspark.jobs.plan;

import io.bitspark.model.arch.ModelCost;
import io.bitspark.model.arch.ResNetV2Presets;
import io.bitspark.model.arch.ResNetV2Spec;
import io.bitspark.model.layers.StandardizedKernels;

/**
 * The capacity planner's model of a synchronous data-parallel run on the allreduce engine. Per round of
 * {@code k} steps (the averaging frequency):
 * <ul>
 *   <li>compute: each executor trains {@code global batch / N} images per step; seconds = images x the model's
 *   training multiply-accumulates / the device's rate, the rate being its R50x1-at-224 images/s times R50x1's
 *   cost (compute-bound scaling by {@link ModelCost});</li>
 *   <li>exchange: the engine's reduce-scatter of gradients and all-gather of parameters send
 *   {@code 2 (N-1)/N x 4 x params} bytes per executor per round (measured: the engine's byte counters equal it),
 *   over each executor's link, all links at once;</li>
 *   <li>update: the fused SGD step on the executor's 1/N slice;</li>
 *   <li>data: reading, decoding and augmenting the executor's share, when its cost per image is given: prefetched on
 *   loader cores beside the device (the step waits only when loading is the slower), or on the compute cores themselves
 *   ({@code loaderCores} 0, as on a CPU executor), where it adds to compute;</li>
 *   <li>scheduling: the Spark round trip of a round (one Spark job of {@code roundSteps} steps: task launch on every
 *   executor, results back to the driver), which grows with the executors the driver launches tasks on.</li>
 * </ul>
 * Memory per executor: parameters, gradients and momentum (12 bytes per parameter), the kept standardized
 * kernels where the AUTO rule keeps them, the activations one micro-batch leaves for backprop times a factor
 * measured on this system, and a fixed base (runtime and libraries).
 */
public final class Planner {

    private Planner() {}

    /** Constants measured on this system; each names where it comes from. */
    public record Constants(double schedulingSecondsPerRound, double schedulingSecondsPerExecutor, double updateSecondsPerParam,
                            double activationBytesFactor, long baseBytes, double linkEfficiency) {
        /**
         * Scheduling: the engine's {@code time_scheduling} x steps per round on the standalone cluster on 127.0.0.1, tiny
         * model, 10-step rounds (docs/BENCHMARKS.md, 2026-12-02): 0.16 s per round with 1 executor, 0.18 s with 2: 0.14 s
         * plus 0.02 s per executor;
         * update: R50x1's fused step, 0.021-0.026 s for 25.5M parameters on 2 threads (docs/BENCHMARKS.md);
         * activations and base: least squares on bit bench's peak RSS of R50x1 at 128 px, micro-batches 4, 8 and 16
         * (0.85, 1.07, 1.50 GiB; docs/BENCHMARKS.md, 2026-12-04, with the activations workspace sized before the first
         * step): 1.67 bytes per activation byte of the walk, and 268 MiB besides parameters, gradients, momentum and
         * kernels; link efficiency: 1 (ideal) until fitted to a run.
         */
        public static final Constants MEASURED = new Constants(0.14, 0.02, 0.9e-9, 1.67, 268L << 20, 1.0);
    }

    /**
     * What a user asks about. {@code roundSteps}: steps per Spark round (the run's {@code log.every_steps}, or less where
     * evaluation or checkpoints come more often); {@code dataSecondsPerImage}: loading one image on one core
     * ({@code bit bench --data}; 0: not modelled); {@code loaderCores}: cores loading beside the device (0: the compute
     * cores load too).
     */
    public record Question(String preset, int classes, int resolution, long images, double epochs, int executors,
                           Devices device, double linkGbps, int globalBatch, int microBatch, int averagingFrequency, int roundSteps,
                           double dataSecondsPerImage, int loaderCores) {

        public Question(String preset, int classes, int resolution, long images, double epochs, int executors, Devices device,
                        double linkGbps, int globalBatch, int microBatch, int averagingFrequency) {
            this(preset, classes, resolution, images, epochs, executors, device, linkGbps, globalBatch, microBatch, averagingFrequency,
                    10, 0, 0);
        }

        public Question withRoundSteps(int steps) {
            return new Question(preset, classes, resolution, images, epochs, executors, device, linkGbps, globalBatch, microBatch,
                    averagingFrequency, steps, dataSecondsPerImage, loaderCores);
        }

        public Question withData(double secondsPerImage, int cores) {
            return new Question(preset, classes, resolution, images, epochs, executors, device, linkGbps, globalBatch, microBatch,
                    averagingFrequency, roundSteps, secondsPerImage, cores);
        }

        public Question withMicroBatch(int m) {
            return new Question(preset, classes, resolution, images, epochs, executors, device, linkGbps, globalBatch, m,
                    averagingFrequency, roundSteps, dataSecondsPerImage, loaderCores);
        }
    }

    /** The answer, all per executor where it says so. */
    public record Plan(Question q, ModelCost cost, double computeSeconds, double dataSeconds, double exchangeSeconds, double updateSeconds,
                       double schedulingSeconds, long bytesPerExecutorPerStep, long steps, long paramBytes, long kernelCopyBytes,
                       long activationBytes, long baseBytes, boolean kernelsKept) {

        /** Compute and loading together: serial on the same cores, overlapped (prefetch) on loader cores. */
        public double computeAndDataSeconds() {
            return q.loaderCores() == 0 ? computeSeconds + dataSeconds : Math.max(computeSeconds, dataSeconds);
        }

        public double stepSeconds() {
            return computeAndDataSeconds() + exchangeSeconds + updateSeconds + schedulingSeconds;
        }

        public double imagesPerSecond() {
            return q.globalBatch() / stepSeconds();
        }

        public double trainHours() {
            return steps * stepSeconds() / 3600;
        }

        public double executorHours() {
            return trainHours() * q.executors();
        }

        public long memoryBytes() {
            return paramBytes + kernelCopyBytes + activationBytes + baseBytes;
        }

        public String bottleneck() {
            boolean loading = q.loaderCores() > 0 && dataSeconds > computeSeconds;
            double work = loading ? dataSeconds : computeSeconds;
            double max = Math.max(Math.max(work, exchangeSeconds), Math.max(updateSeconds, schedulingSeconds));
            if (max == work) {
                return loading ? "data loading (give the executors more loader cores)" : "compute";
            }
            return max == exchangeSeconds ? "exchange (the link)" : max == schedulingSeconds ? "scheduling (Spark round trips)" : "update";
        }

        public boolean fits() {
            return q.device().memoryBytes() == 0 || memoryBytes() <= q.device().memoryBytes();
        }
    }

    /** The largest micro-batch (at most the executor's share) whose plan fits the device; 0 when none does. */
    public static int largestFittingMicroBatch(Question q, Constants c) {
        int best = 0;
        for (int m = 1; m <= q.globalBatch() / q.executors(); m *= 2) {
            if (plan(q.withMicroBatch(m), c).fits()) {
                best = m;
            }
        }
        return best;
    }

    public static Plan plan(Question q, Constants c) {
        if (q.executors() < 1 || q.globalBatch() < q.executors() || q.globalBatch() % q.executors() != 0) {
            throw new IllegalArgumentException("the global batch (" + q.globalBatch() + ") must be a positive multiple of the executors ("
                    + q.executors() + ")");
        }
        int perExecutor = q.globalBatch() / q.executors();
        int micro = q.microBatch() > 0 ? Math.min(q.microBatch(), perExecutor) : perExecutor;
        ResNetV2Spec spec = ResNetV2Presets.get(q.preset()).withClasses(q.classes());
        ModelCost cost = ModelCost.of(spec, q.resolution());
        ModelCost r50 = ModelCost.of(ResNetV2Presets.get("r50x1").withClasses(1000), 224);
        double macRate = q.device().r50ImagesPerSec() * r50.trainMacsPerImage();
        double compute = q.device().stepOverheadSeconds() * Math.ceil(perExecutor / (double) micro)
                + perExecutor * cost.trainMacsPerImage() / macRate;
        double data = perExecutor * q.dataSecondsPerImage() / Math.max(1, q.loaderCores());
        int n = q.executors();
        long bytes = n == 1 ? 0 : Math.round(2.0 * (n - 1) / n * 4.0 * cost.params());
        double k = Math.max(1, q.averagingFrequency());
        double exchange = bytes * 8 / (q.linkGbps() * 1e9 * c.linkEfficiency()) / k;
        double perParam = q.device().updateSecondsPerParam() > 0 ? q.device().updateSecondsPerParam() : c.updateSecondsPerParam();
        double update = perParam * cost.params() / n;
        double scheduling = (c.schedulingSecondsPerRound() + c.schedulingSecondsPerExecutor() * n) / Math.max(1, q.roundSteps());
        long steps = (long) Math.ceil(q.images() * q.epochs() / q.globalBatch());
        boolean keep = 4L * cost.kernelParams() <= StandardizedKernels.AUTO_KEEP_LIMIT_BYTES;
        long activation = Math.round(4.0 * cost.activationsPerImage() * micro * c.activationBytesFactor());
        return new Plan(q, cost, compute, data, exchange, update, scheduling, Math.round(bytes / k), steps, 12L * cost.params(),
                keep ? 4L * cost.kernelParams() : 0L, activation, c.baseBytes(), keep);
    }
}
