package io.bitspark.model.layers;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Broadcast;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Standardization over the last axis of a rank-2 or rank-3 array, and its exact backward pass. Weight
 * standardization (rows are output channels) and GroupNorm (rows are (example, group) pairs) are both
 * this operation on a reshaped view.
 *
 * <p>Forward: {@code y = (x - mean(x)) / sqrt(var(x) + eps)} with the biased variance. Backward, for an
 * upstream gradient {@code g} on {@code y} over {@code K} elements:
 * {@code dx = rstd * (g - mean(g) - y * mean(g * y))}; the identity follows from
 * {@code d var / d x_j = 2 (x_j - mean) / K}.
 */
final class NormalizationMath {

    private NormalizationMath() {}

    /** Result of a forward standardization: normalized values and 1/sqrt(var + eps) per row. */
    record Standardized(INDArray normalized, INDArray rstd) {}

    /**
     * Standardizes each row of {@code x} ({@code [R, K]}, or {@code [A, B, K]} with rows {@code (a, b)}).
     * Allocates the result in the current workspace; {@code x} is not modified.
     */
    static Standardized standardize(INDArray x, double eps) {
        int last = x.rank() - 1;
        int[] rowDims = rowDims(x.rank());
        INDArray mean = x.mean(last);
        INDArray centered = x.ulike();
        Broadcast.sub(x, mean, centered, rowDims);
        INDArray var = centered.mul(centered).mean(last);
        INDArray rstd = Transforms.pow(var.addi(eps), -0.5, false);
        Broadcast.mul(centered, rstd, centered, rowDims);
        return new Standardized(centered, rstd);
    }

    /**
     * Gradient through {@link #standardize}: given {@code y = normalized}, its {@code rstd} and the gradient
     * {@code g} on {@code y}, writes {@code dL/dx} into {@code out} (may be {@code g} itself).
     */
    static INDArray standardizeBackward(INDArray y, INDArray rstd, INDArray g, INDArray out) {
        int last = y.rank() - 1;
        int[] rowDims = rowDims(y.rank());
        INDArray meanG = g.mean(last);
        INDArray meanGY = g.mul(y).mean(last);
        INDArray tmp = y.ulike();
        Broadcast.mul(y, meanGY, tmp, rowDims);          // y * mean(g*y)
        if (out != g) {
            out.assign(g);
        }
        Broadcast.sub(out, meanG, out, rowDims);         // g - mean(g)
        out.subi(tmp);
        Broadcast.mul(out, rstd, out, rowDims);
        return out;
    }

    private static int[] rowDims(int rank) {
        if (rank == 2) {
            return new int[] {0};
        }
        if (rank == 3) {
            return new int[] {0, 1};
        }
        throw new IllegalArgumentException("expected rank 2 or 3, got rank " + rank);
    }
}
