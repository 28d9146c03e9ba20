package io.bitspark.model.arch;

/**
 * What a ResNet-v2 costs, from its specification alone (nothing allocated, so R152x4 is as cheap to ask about
 * as the tiny model): parameters, multiply-accumulates of one image's forward pass at a square resolution, and
 * the activation values one image leaves for backprop (every layer's output: root convolution, padding and
 * pool, each unit's GroupNorm+ReLU, convolutions and sum, the final GroupNorm). The walk follows
 * {@link ResNetV2Builder} layer for layer; the parameter count equals the built network's.
 *
 * @param params             trainable parameters
 * @param kernelParams       parameters of the standardized convolutions (the kernels weight standardization copies)
 * @param forwardMacs        multiply-accumulates of one image's forward pass
 * @param activationsPerImage activation values (floats) one image's forward pass keeps for backprop
 * @param largestActivation  the largest single layer output of one image, in values
 */
public record ModelCost(long params, long kernelParams, long forwardMacs, long activationsPerImage, long largestActivation) {

    /** Training an image costs about three forward passes: forward, and backward for inputs and for weights. */
    public static final double TRAIN_MACS_PER_FORWARD_MAC = 3.0;

    public static ModelCost of(ResNetV2Spec spec, int resolution) {
        if (resolution < 8) {
            throw new IllegalArgumentException("resolution must be at least 8, got " + resolution);
        }
        Walk w = new Walk();
        ResNetV2Spec.Stem stem = spec.stem();
        int h = convOut(resolution, stem.kernel(), stem.stride(), stem.padding());
        w.conv(3, spec.baseWidth(), stem.kernel(), h);
        if (stem.poolPadding() > 0) {
            w.activation((long) spec.baseWidth() * sq(h + 2 * stem.poolPadding()));
        }
        h = (h + 2 * stem.poolPadding() - stem.poolKernel()) / stem.poolStride() + 1;
        w.activation((long) spec.baseWidth() * sq(h));
        int cin = spec.baseWidth();
        for (int s = 0; s < spec.numStages(); s++) {
            int cmid = spec.midChannels(s);
            int cout = spec.outChannels(s);
            for (int u = 0; u < spec.unitsPerStage().get(s); u++) {
                int stride = u == 0 ? spec.stageStride(s) : 1;
                int hout = convOut(h, 3, stride, 1);
                w.groupNorm(cin, h);
                if (u == 0) {
                    w.conv(cin, cout, 1, convOut(h, 1, stride, 0));
                }
                w.conv(cin, cmid, 1, h);
                w.groupNorm(cmid, h);
                w.conv(cmid, cmid, 3, hout);
                w.groupNorm(cmid, hout);
                w.conv(cmid, cout, 1, hout);
                w.activation((long) cout * sq(hout));
                cin = cout;
                h = hout;
            }
        }
        w.groupNorm(cin, h);
        w.params += (long) cin * spec.numClasses() + spec.numClasses();
        w.macs += (long) cin * spec.numClasses() + (long) cin * sq(h);
        w.activation(cin + spec.numClasses());
        return new ModelCost(w.params, w.kernels, w.macs, w.activations, w.largest);
    }

    /** Multiply-accumulates of one training image (forward and backward). */
    public double trainMacsPerImage() {
        return forwardMacs * TRAIN_MACS_PER_FORWARD_MAC;
    }

    private static int convOut(int in, int kernel, int stride, int padding) {
        return (in + 2 * padding - kernel) / stride + 1;
    }

    private static long sq(int x) {
        return (long) x * x;
    }

    private static final class Walk {
        long params;
        long kernels;
        long macs;
        long activations;
        long largest;

        void conv(int cin, int cout, int k, int hout) {
            long p = (long) cin * cout * k * k;
            params += p;
            kernels += p;
            macs += p * sq(hout);
            activation((long) cout * sq(hout));
        }

        /** GroupNorm (scale and offset per channel) then ReLU, as the units use it. */
        void groupNorm(int c, int h) {
            params += 2L * c;
            activation((long) c * sq(h));
        }

        void activation(long values) {
            activations += values;
            largest = Math.max(largest, values);
        }
    }
}
