package io.bitspark.model.arch;

import java.util.List;
import java.util.Objects;

/**
 * An immutable description of one ResNet-v2 as used by BiT (Kolesnikov et al., 2020, section 2.1 and the
 * official release): pre-activation bottleneck units, GroupNorm and weight-standardized convolutions.
 *
 * <p>Widths follow the release: stage {@code s} (0-based) has {@code cmid = baseWidth * 2^s} and
 * {@code cout = 4 * cmid}; the root convolution has {@code baseWidth} outputs. {@code baseWidth} is
 * {@code 64 * widthFactor} for the published architectures; test specs may use smaller values.
 *
 * @param name          preset name, e.g. {@code r50x1}
 * @param unitsPerStage bottleneck units in each stage, e.g. [3, 4, 6, 3] for R50
 * @param baseWidth     root width, 64 times the width factor
 * @param groups        GroupNorm groups (32 in BiT)
 * @param gnEpsilon     GroupNorm epsilon (1e-5 in BiT)
 * @param wsEpsilon     weight-standardization epsilon added to the biased variance (1e-10 in BiT)
 * @param numClasses    head outputs
 * @param stem          root block geometry
 */
public record ResNetV2Spec(String name, List<Integer> unitsPerStage, int baseWidth, int groups,
                           double gnEpsilon, double wsEpsilon, int numClasses, Stem stem) implements java.io.Serializable {

    /**
     * Geometry of the root block: a {@code kernel x kernel} standardized convolution with stride
     * {@code stride} and symmetric zero padding {@code padding}, then symmetric zero padding
     * {@code poolPadding} and a {@code poolKernel} max pool with stride {@code poolStride} and no further
     * padding. BiT: 7/2/3 and 1, 3/2.
     */
    public record Stem(int kernel, int stride, int padding, int poolPadding, int poolKernel, int poolStride) implements java.io.Serializable {
        public static final Stem BIT = new Stem(7, 2, 3, 1, 3, 2);

        public Stem {
            if (kernel < 1 || stride < 1 || padding < 0 || poolPadding < 0 || poolKernel < 1 || poolStride < 1) {
                throw new IllegalArgumentException("invalid stem " + kernel + "/" + stride + "/" + padding
                        + " pool " + poolPadding + "/" + poolKernel + "/" + poolStride);
            }
        }
    }

    public static final int BIT_GROUPS = 32;
    public static final double BIT_GN_EPSILON = 1e-5;
    public static final double BIT_WS_EPSILON = 1e-10;

    public ResNetV2Spec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(stem, "stem");
        unitsPerStage = List.copyOf(Objects.requireNonNull(unitsPerStage, "unitsPerStage"));
        if (unitsPerStage.isEmpty()) {
            throw new IllegalArgumentException(name + ": unitsPerStage must not be empty");
        }
        for (int u : unitsPerStage) {
            if (u < 1) {
                throw new IllegalArgumentException(name + ": every stage needs at least one unit, got " + unitsPerStage);
            }
        }
        if (baseWidth < 1) {
            throw new IllegalArgumentException(name + ": baseWidth must be positive, got " + baseWidth);
        }
        if (groups < 1 || baseWidth % groups != 0) {
            // Every GroupNorm sees a multiple of baseWidth channels, so this check covers all of them.
            throw new IllegalArgumentException(name + ": groups (" + groups + ") must divide baseWidth (" + baseWidth + ")");
        }
        if (!(gnEpsilon > 0) || !(wsEpsilon > 0)) {
            throw new IllegalArgumentException(name + ": epsilons must be positive");
        }
        if (numClasses < 1) {
            throw new IllegalArgumentException(name + ": numClasses must be positive, got " + numClasses);
        }
    }

    /** A BiT architecture: R{depth}x{widthFactor} with the published numerics. */
    public static ResNetV2Spec bit(String name, List<Integer> units, int widthFactor, int numClasses) {
        return new ResNetV2Spec(name, units, 64 * widthFactor, BIT_GROUPS, BIT_GN_EPSILON, BIT_WS_EPSILON,
                numClasses, Stem.BIT);
    }

    public ResNetV2Spec withClasses(int classes) {
        return new ResNetV2Spec(name, unitsPerStage, baseWidth, groups, gnEpsilon, wsEpsilon, classes, stem);
    }

    public int numStages() {
        return unitsPerStage.size();
    }

    /** Bottleneck width of stage {@code stage} (0-based). */
    public int midChannels(int stage) {
        return baseWidth << stage;
    }

    /** Output channels of stage {@code stage} (0-based). */
    public int outChannels(int stage) {
        return 4 * midChannels(stage);
    }

    /** Stride of the first unit of a stage: the first stage keeps resolution (the root pooled already). */
    public int stageStride(int stage) {
        return stage == 0 ? 1 : 2;
    }

    /** Channels of the pre-logits features (input of the head). */
    public int featureChannels() {
        return outChannels(numStages() - 1);
    }

    /** Depth in the ResNet sense: 3 convolutions per unit plus the root and the head. */
    public int depth() {
        return 3 * unitsPerStage.stream().mapToInt(Integer::intValue).sum() + 2;
    }

    /** Width factor as written in names: "1", "3", or "1/8" for a test spec with baseWidth 8. */
    public String widthLabel() {
        double w = widthFactor();
        return w == Math.rint(w) ? String.valueOf((int) w) : "1/" + Math.round(1 / w);
    }

    /** Width factor as a number (1/8 for a test spec with baseWidth 8). */
    public double widthFactor() {
        return baseWidth / 64.0;
    }
}
