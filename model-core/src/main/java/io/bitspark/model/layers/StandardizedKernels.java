package io.bitspark.model.layers;

import java.util.Locale;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;

/**
 * Where weight-standardized convolutions keep their standardized kernels between the forward pass and backprop.
 * {@link #KEEP}: one copy per layer, standardized once per step (as many bytes again as the kernels). {@link
 * #RECOMPUTE}: one scratch kernel per thread, standardized again in backprop (the largest kernel's bytes; one more
 * standardization pass per step, a few percent of a CPU step). {@link #AUTO} keeps while the kernels take at most
 * {@link #AUTO_KEEP_LIMIT_BYTES}: every BiT model up to R152x2 keeps; R101x3, R152x3 and R152x4 (3.7 GB of kernels)
 * recompute. The choice changes memory and time only: both give bitwise the same results.
 */
public enum StandardizedKernels {
    KEEP, RECOMPUTE, AUTO;

    public static final long AUTO_KEEP_LIMIT_BYTES = 1L << 30;

    public static StandardizedKernels parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("standardized kernels must be keep, recompute or auto, got '" + s + "'");
        }
    }

    /** Applies this choice to every weight-standardized convolution of {@code net}; returns KEEP or RECOMPUTE. */
    public StandardizedKernels applyTo(ComputationGraph net) {
        long bytes = 0;
        for (GraphVertex v : net.getVertices()) {
            if (v.hasLayer() && v.getLayer() instanceof StandardizedConv2DLayer l) {
                bytes += l.numParams() * (long) l.getParam("W").dataType().width();
            }
        }
        StandardizedKernels resolved = this != AUTO ? this : bytes <= AUTO_KEEP_LIMIT_BYTES ? KEEP : RECOMPUTE;
        for (GraphVertex v : net.getVertices()) {
            Layer l = v.hasLayer() ? v.getLayer() : null;
            if (l instanceof StandardizedConv2DLayer c) {
                c.setRecomputeStandardized(resolved == RECOMPUTE);
            }
        }
        return resolved;
    }

    /** The choice in effect on {@code net}'s first weight-standardized convolution (KEEP when it has none). */
    public static StandardizedKernels of(ComputationGraph net) {
        for (GraphVertex v : net.getVertices()) {
            if (v.hasLayer() && v.getLayer() instanceof StandardizedConv2DLayer c) {
                return c.recomputesStandardized() ? RECOMPUTE : KEEP;
            }
        }
        return KEEP;
    }
}
