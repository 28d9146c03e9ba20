package io.bitspark.jobs.plan;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What one executor's device trains per second, as images/s of BiT-R50x1 (ResNet-50 v1.5's convolutions) at
 * 224x224, with the source of every number. The planner scales it to other models and resolutions by their
 * multiply-accumulates ({@code ModelCost}). The system trains in float32 (ND4J has no mixed precision), so GPU
 * entries are the published TF32 (A100) and FP32 (V100) figures, not the faster AMP ones; H100 has no
 * published figure in the sources used here, so it is not listed (give {@code --device-images-per-sec}).
 *
 * @param name           what {@code --device} takes
 * @param r50ImagesPerSec R50x1 training images/s at 224 on one device
 * @param memoryBytes    device memory (for CPUs: what one executor may use, 0 when not bounded here)
 * @param source         where the figure comes from
 * @param stepOverheadSeconds per training step, whatever the batch (dispatch of the network's operations); 0 for the
 *                       published figures, which are measured at batches large enough to hide it
 * @param updateSecondsPerParam the optimizer step per parameter on this device; 0: the planner's measured constant
 */
public record Devices(String name, double r50ImagesPerSec, long memoryBytes, String source, double stepOverheadSeconds,
                      double updateSecondsPerParam) {

    public Devices(String name, double r50ImagesPerSec, long memoryBytes, String source) {
        this(name, r50ImagesPerSec, memoryBytes, source, 0, 0);
    }

    /**
     * A device measured with {@code bit bench} at one batch: median train step {@code t} at {@code batch} images, with the
     * bench's optimizer update {@code updateSeconds} taken out (the planner counts the engine's sharded update). No fixed
     * per-step part is separated, so it predicts that batch best; {@link #fromBench} fits one from two batches.
     */
    public static Devices atBatch(String name, String preset, int classes, int resolution, int batch, double t, double updateSeconds,
                                  long memoryBytes) {
        io.bitspark.model.arch.ModelCost cost = io.bitspark.model.arch.ModelCost.of(
                io.bitspark.model.arch.ResNetV2Presets.get(preset).withClasses(classes), resolution);
        io.bitspark.model.arch.ModelCost r50 = io.bitspark.model.arch.ModelCost.of(
                io.bitspark.model.arch.ResNetV2Presets.get("r50x1").withClasses(1000), 224);
        double perImage = (t - updateSeconds) / batch;
        return new Devices(name, cost.trainMacsPerImage() / perImage / r50.trainMacsPerImage(), memoryBytes,
                String.format(Locale.ROOT, "bit bench %s at %d px: %.4f s at batch %d, update %.4f s", preset, resolution, t, batch,
                        updateSeconds), 0, updateSeconds / cost.params());
    }

    /**
     * A device measured with {@code bit bench} on the preset and resolution that will be planned: the median train step
     * {@code t1} at batch {@code b1} and {@code t2} at {@code b2}, and the bench's own optimizer update (included in both
     * steps; the planner counts the engine's sharded update separately). The step is fitted as overhead + batch x seconds
     * per image; the per-image rate becomes an R50x1-at-224 rate by multiply-accumulates, so other models scale from it.
     */
    public static Devices fromBench(String name, String preset, int classes, int resolution, int b1, double t1, int b2, double t2,
                                    double updateSeconds, long memoryBytes) {
        if (b1 == b2 || b1 < 1 || b2 < 1) {
            throw new IllegalArgumentException("two different batch sizes are needed, got " + b1 + " and " + b2);
        }
        io.bitspark.model.arch.ModelCost cost = io.bitspark.model.arch.ModelCost.of(
                io.bitspark.model.arch.ResNetV2Presets.get(preset).withClasses(classes), resolution);
        io.bitspark.model.arch.ModelCost r50 = io.bitspark.model.arch.ModelCost.of(
                io.bitspark.model.arch.ResNetV2Presets.get("r50x1").withClasses(1000), 224);
        double c1 = t1 - updateSeconds;
        double c2 = t2 - updateSeconds;
        double perImage = (c2 - c1) / (b2 - b1);
        if (!(perImage > 0)) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, "bench steps %.4f s at batch %d and %.4f s at batch %d do not "
                    + "grow with the batch", t1, b1, t2, b2));
        }
        double overhead = Math.max(0, c1 - b1 * perImage);
        return new Devices(name, cost.trainMacsPerImage() / perImage / r50.trainMacsPerImage(), memoryBytes,
                String.format(Locale.ROOT, "bit bench %s at %d px: %.4f s at batch %d, %.4f s at batch %d, update %.4f s", preset,
                        resolution, t1, b1, t2, b2, updateSeconds), overhead, updateSeconds / cost.params());
    }

    private static final long GIB = 1L << 30;
    private static final String DLE = "NVIDIA DeepLearningExamples, PyTorch/Classification/ConvNets/resnet50v1.5/README.md "
            + "(commit 729963dd), training performance, pytorch-21.03, 224x224, 1 GPU";

    public static final Map<String, Devices> TABLE = table(List.of(
            new Devices("a100-80gb", 938, 80 * GIB, DLE + ", DGX A100 80GB, TF32: 938 img/s"),
            new Devices("a100-40gb", 909, 40 * GIB, "NVIDIA DeepLearningExamples, TensorFlow/Classification/ConvNets/resnet50v1.5/"
                    + "README.md (commit 729963dd), DGX A100 40GB, TF32, batch 256, 1 GPU: 909 img/s"),
            new Devices("v100-16gb", 367, 16 * GIB, DLE + ", DGX-1 V100 16GB, FP32: 367 img/s"),
            new Devices("v100-32gb", 356, 32 * GIB, DLE + ", DGX-1 V100 32GB, FP32: 356 img/s"),
            // Measured here: bit bench --preset r50x1 --resolution 224 --batch 8, 2 threads (docs/BENCHMARKS.md, 2026-12-01).
            new Devices("cpu-2core", 4.7, 0, "bit bench --preset r50x1 --resolution 224 --batch 8 on the 2-core reference "
                    + "machine, docs/BENCHMARKS.md 2026-12-01: 5.01 and 4.43 images/s")));

    public static final Map<String, String> ALIASES = Map.of("a100", "a100-80gb", "v100", "v100-16gb", "cpu", "cpu-2core");

    private static Map<String, Devices> table(List<Devices> list) {
        Map<String, Devices> m = new LinkedHashMap<>();
        list.forEach(d -> m.put(d.name(), d));
        return m;
    }

    public static Devices get(String name) {
        String key = name.toLowerCase(Locale.ROOT);
        Devices d = TABLE.get(ALIASES.getOrDefault(key, key));
        if (d == null) {
            throw new IllegalArgumentException("no published figure for device '" + name + "'; known: " + String.join(", ", TABLE.keySet())
                    + " (aliases " + ALIASES.keySet() + "), or give --device-images-per-sec (R50x1 training images/s at 224 "
                    + "on one device) and --device-memory-gib");
        }
        return d;
    }
}
