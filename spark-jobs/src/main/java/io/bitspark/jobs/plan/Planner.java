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
 *   <li>scheduling: the Spark round trip of a round (task launch, result), measured on the engine.</li>
 * </ul>
 * Memory per executor: parameters, gradients and momentum (12 bytes per parameter), the kept standardized
 * kernels where the AUTO rule keeps them, the activations one micro-batch leaves for backprop times a factor
 * measured on this system, and a fixed base (runtime and libraries).
 */
public final class Planner {

    private Planner() {}

    /** Constants measured on this system; each names where it comes from. */
    public record Constants(double schedulingSecondsPerRound, double updateSecondsPerParam, double activationBytesFactor,
                            long baseBytes, double linkEfficiency) {
        /**
         * Scheduling: the engine's {@code time_scheduling} per step, tiny model, 2 workers, local (bin/bit demo, 0.058 s);
         * update: R50x1's fused step, 0.021-0.026 s for 25.5M parameters on 2 threads (docs/BENCHMARKS.md);
         * activations and base: least squares on bit bench's peak RSS of R50x1 at 128 px, micro-batches 4, 8 and 16
         * (0.90, 1.37, 1.88 GiB; docs/BENCHMARKS.md, 2026-12-02): 2.44 bytes per activation byte of the walk, and 279 MiB
         * besides parameters, gradients, momentum and kernels; link efficiency: 1 (ideal) until fitted to a run.
         */
        public static final Constants MEASURED = new Constants(0.058, 0.9e-9, 2.44, 279L << 20, 1.0);
    }

    /** What a user asks about. */
    public record Question(String preset, int classes, int resolution, long images, double epochs, int executors,
                           Devices device, double linkGbps, int globalBatch, int microBatch, int averagingFrequency) {}

    /** The answer, all per executor where it says so. */
    public record Plan(Question q, ModelCost cost, double computeSeconds, double exchangeSeconds, double updateSeconds,
                       double schedulingSeconds, long bytesPerExecutorPerStep, long steps, long paramBytes, long kernelCopyBytes,
                       long activationBytes, long baseBytes, boolean kernelsKept) {

        public double stepSeconds() {
            return computeSeconds + exchangeSeconds + updateSeconds + schedulingSeconds;
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
            double max = Math.max(Math.max(computeSeconds, exchangeSeconds), Math.max(updateSeconds, schedulingSeconds));
            if (max == computeSeconds) {
                return "compute";
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
            Question t = new Question(q.preset(), q.classes(), q.resolution(), q.images(), q.epochs(), q.executors(), q.device(),
                    q.linkGbps(), q.globalBatch(), m, q.averagingFrequency());
            if (plan(t, c).fits()) {
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
        double compute = perExecutor * cost.trainMacsPerImage() / macRate;
        int n = q.executors();
        long bytes = n == 1 ? 0 : Math.round(2.0 * (n - 1) / n * 4.0 * cost.params());
        double k = Math.max(1, q.averagingFrequency());
        double exchange = bytes * 8 / (q.linkGbps() * 1e9 * c.linkEfficiency()) / k;
        double update = c.updateSecondsPerParam() * cost.params() / n;
        double scheduling = c.schedulingSecondsPerRound() / k;
        long steps = (long) Math.ceil(q.images() * q.epochs() / q.globalBatch());
        boolean keep = 4L * cost.kernelParams() <= StandardizedKernels.AUTO_KEEP_LIMIT_BYTES;
        long activation = Math.round(4.0 * cost.activationsPerImage() * micro * c.activationBytesFactor());
        return new Plan(q, cost, compute, exchange, update, scheduling, Math.round(bytes / k), steps, 12L * cost.params(),
                keep ? 4L * cost.kernelParams() : 0L, activation, c.baseBytes(), keep);
    }
}
