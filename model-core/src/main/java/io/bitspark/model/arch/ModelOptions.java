package io.bitspark.model.arch;

import java.util.Objects;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.NoOp;

/**
 * Training-side choices that are not part of the architecture: numeric type, loss, seed for weight
 * initialisation, updater, L2 weight decay on kernels, and the nominal input resolution used for shape
 * inference (the network is fully convolutional up to the global pool, so other resolutions run too).
 */
public record ModelOptions(DataType dataType, LossKind loss, long seed, IUpdater updater, double weightDecay,
                           int inputHeight, int inputWidth) {

    public ModelOptions {
        Objects.requireNonNull(dataType, "dataType");
        Objects.requireNonNull(loss, "loss");
        Objects.requireNonNull(updater, "updater");
        if (weightDecay < 0) {
            throw new IllegalArgumentException("weightDecay must be >= 0, got " + weightDecay);
        }
        if (inputHeight < 1 || inputWidth < 1) {
            throw new IllegalArgumentException("input size must be positive, got " + inputHeight + "x" + inputWidth);
        }
    }

    /** float32, softmax, seed 0, no updater, no weight decay, 224x224. */
    public static ModelOptions defaults() {
        return new ModelOptions(DataType.FLOAT, LossKind.SOFTMAX_CROSS_ENTROPY, 0L, new NoOp(), 0.0, 224, 224);
    }

    public ModelOptions withDataType(DataType t) {
        return new ModelOptions(t, loss, seed, updater, weightDecay, inputHeight, inputWidth);
    }

    public ModelOptions withLoss(LossKind l) {
        return new ModelOptions(dataType, l, seed, updater, weightDecay, inputHeight, inputWidth);
    }

    public ModelOptions withSeed(long s) {
        return new ModelOptions(dataType, loss, s, updater, weightDecay, inputHeight, inputWidth);
    }

    public ModelOptions withUpdater(IUpdater u) {
        return new ModelOptions(dataType, loss, seed, u, weightDecay, inputHeight, inputWidth);
    }

    public ModelOptions withWeightDecay(double wd) {
        return new ModelOptions(dataType, loss, seed, updater, wd, inputHeight, inputWidth);
    }

    public ModelOptions withInputSize(int h, int w) {
        return new ModelOptions(dataType, loss, seed, updater, weightDecay, h, w);
    }
}
