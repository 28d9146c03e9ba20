package io.bitspark.model.arch;

import java.util.Objects;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.NoOp;

/**
 * Training-side choices that are not part of the architecture: numeric type, loss, seed for weight
 * initialisation, updater, L2 weight decay on kernels, and the nominal input resolution used for shape
 * inference (the network is fully convolutional up to the global pool, so other resolutions run too).
 */
public record ModelOptions(DataType dataType, LossKind loss, long seed, IUpdater updater, double weightDecay,
                           int inputHeight, int inputWidth, CNN2DFormat layout) {

    /**
     * Activation layout inside the network (the input is NCHW either way): NHWC, which libnd4j's oneDNN
     * convolutions run without per-call reorders (measured in docs/BENCHMARKS.md).
     */
    public static final CNN2DFormat DEFAULT_LAYOUT = CNN2DFormat.NHWC;

    public ModelOptions {
        Objects.requireNonNull(dataType, "dataType");
        Objects.requireNonNull(loss, "loss");
        Objects.requireNonNull(updater, "updater");
        Objects.requireNonNull(layout, "layout");
        if (weightDecay < 0) {
            throw new IllegalArgumentException("weightDecay must be >= 0, got " + weightDecay);
        }
        if (inputHeight < 1 || inputWidth < 1) {
            throw new IllegalArgumentException("input size must be positive, got " + inputHeight + "x" + inputWidth);
        }
    }

    /** float32, softmax, seed 0, no updater, no weight decay, 224x224, the default layout. */
    public static ModelOptions defaults() {
        return new ModelOptions(DataType.FLOAT, LossKind.SOFTMAX_CROSS_ENTROPY, 0L, new NoOp(), 0.0, 224, 224, DEFAULT_LAYOUT);
    }

    public ModelOptions withDataType(DataType t) {
        return new ModelOptions(t, loss, seed, updater, weightDecay, inputHeight, inputWidth, layout);
    }

    public ModelOptions withLoss(LossKind l) {
        return new ModelOptions(dataType, l, seed, updater, weightDecay, inputHeight, inputWidth, layout);
    }

    public ModelOptions withSeed(long s) {
        return new ModelOptions(dataType, loss, s, updater, weightDecay, inputHeight, inputWidth, layout);
    }

    public ModelOptions withUpdater(IUpdater u) {
        return new ModelOptions(dataType, loss, seed, u, weightDecay, inputHeight, inputWidth, layout);
    }

    public ModelOptions withWeightDecay(double wd) {
        return new ModelOptions(dataType, loss, seed, updater, wd, inputHeight, inputWidth, layout);
    }

    public ModelOptions withInputSize(int h, int w) {
        return new ModelOptions(dataType, loss, seed, updater, weightDecay, h, w, layout);
    }

    public ModelOptions withLayout(CNN2DFormat l) {
        return new ModelOptions(dataType, loss, seed, updater, weightDecay, inputHeight, inputWidth, l);
    }
}
