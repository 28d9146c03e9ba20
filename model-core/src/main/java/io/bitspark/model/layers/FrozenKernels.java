package io.bitspark.model.layers;

import java.util.ArrayList;
import java.util.List;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;

/**
 * A scope in which a network's weights stay as they are, for a run of inference passes (prediction, evaluation,
 * feature extraction): each weight-standardized convolution standardizes its kernel in the first pass and reuses it
 * in the later ones, instead of standardizing every kernel in every pass (for R50x1 at 128 px, batch 8, about a
 * sixth of a forward pass on a CPU). Inference with fixed weights may fold work that depends on the weights alone,
 * as inference engines fold batch normalization into convolutions; the outputs are bitwise those of passes outside
 * the scope.
 *
 * <p>The caller promises not to change the weights inside the scope. A training pass inside it fails; closing the
 * scope drops what was reused. Layers that recompute into a shared scratch kernel ({@link
 * StandardizedKernels#RECOMPUTE}, chosen for the largest models to save memory) keep no copy and standardize every
 * pass as before.
 *
 * <pre>{@code
 * try (FrozenKernels frozen = FrozenKernels.of(net)) {
 *     for (INDArray batch : batches) { ... BitOutputs.logits(net, batch) ... }
 * }
 * }</pre>
 */
public final class FrozenKernels implements AutoCloseable {

    private final List<StandardizedConv2DLayer> layers;

    private FrozenKernels(List<StandardizedConv2DLayer> layers) {
        this.layers = layers;
    }

    /** Freezes the standardized kernels of {@code net} until {@link #close()}. */
    public static FrozenKernels of(ComputationGraph net) {
        List<StandardizedConv2DLayer> layers = new ArrayList<>();
        for (GraphVertex v : net.getVertices()) {
            if (v.hasLayer() && v.getLayer() instanceof StandardizedConv2DLayer c) {
                layers.add(c);
            }
        }
        layers.forEach(l -> l.setFrozen(true));
        return new FrozenKernels(layers);
    }

    @Override
    public void close() {
        layers.forEach(l -> l.setFrozen(false));
    }
}
