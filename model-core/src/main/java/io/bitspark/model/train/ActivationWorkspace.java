package io.bitspark.model.train;

import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.WeakHashMap;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.memory.enums.ResetPolicy;
import org.nd4j.linalg.api.memory.enums.SpillPolicy;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sizes DL4J's training activations workspace (the one block that holds every layer's output from the forward pass
 * to backprop) before a thread's first training step, from the layers' output shapes.
 *
 * <p>Left to itself, DL4J learns the size in the first iteration on each thread: every activation of that iteration
 * is allocated on its own, all are freed at its end, and then the workspace is allocated 5% larger than their sum,
 * so it cannot take their place. The first step holds the activations twice, and freed memory stays with the process
 * (see {@code NativeEnvironment}): BiT-R50x1 at 128 px, batch 8, kept 0.3 GB more for the rest of the run, at 224 px
 * 0.8 GB (on a GPU executor it would be device memory). Sized first, the first step allocates nothing beside it.
 *
 * <p>The size is what the layers' output types add up to for the batch, plus a margin; a larger batch later grows
 * the workspace here, before the step, and a size that falls short only brings back DL4J's own learning.
 */
public final class ActivationWorkspace {

    private static final Logger LOG = LoggerFactory.getLogger(ActivationWorkspace.class);

    /** DL4J's name of the workspace ({@code ComputationGraph.WS_ALL_LAYERS_ACT}, not public there). */
    static final String ID = "WS_ALL_LAYERS_ACT";
    /** Headroom over the counted outputs (alignment, the loss layer's arrays). */
    static final double MARGIN = 0.02;
    static final long MARGIN_BYTES = 1L << 20;

    /** Bytes per network and input shape, computed once (walking the configuration takes a few milliseconds). */
    private static final Map<ComputationGraph, Map<String, Long>> SIZES = Collections.synchronizedMap(new WeakHashMap<>());

    private ActivationWorkspace() {}

    /**
     * Makes sure this thread's activations workspace holds a training forward pass of {@code net} on {@code
     * features} ({@code [N, C, H, W]}): creates it at that size, or replaces a smaller one. Call outside any step.
     */
    public static void prepare(ComputationGraph net, INDArray features) {
        if (features.rank() != 4 || net.getConfiguration().getTrainingWorkspaceMode()
                == org.deeplearning4j.nn.conf.WorkspaceMode.NONE) {
            return;
        }
        long need = bytes(net, features);
        var manager = Nd4j.getWorkspaceManager();
        if (manager.checkIfWorkspaceExists(ID)) {
            MemoryWorkspace ws = manager.getWorkspaceForCurrentThread(ID);
            if (ws.getCurrentSize() >= need || ws.isScopeActive()) {
                return;
            }
            manager.destroyWorkspace(ws);
        }
        // Created and registered for this thread, where DL4J's fit will find it by name.
        manager.getWorkspaceForCurrentThread(configuration(need), ID);
        LOG.debug("activations workspace of {} MB for input {}", need >> 20, Arrays.toString(features.shape()));
    }

    /** DL4J's own configuration of the workspace, with its size given instead of learned. */
    static WorkspaceConfiguration configuration(long bytes) {
        return WorkspaceConfiguration.builder()
                .initialSize(bytes)
                .overallocationLimit(0.05)
                .policyLearning(LearningPolicy.FIRST_LOOP)
                .policyReset(ResetPolicy.BLOCK_LEFT)
                .policySpill(SpillPolicy.REALLOCATE)
                .policyAllocation(AllocationPolicy.OVERALLOCATE)
                .build();
    }

    /** Bytes of every vertex's training output (and the input's copy) for {@code features}, with the margin. */
    static long bytes(ComputationGraph net, INDArray features) {
        long[] shape = features.shape();
        String key = Arrays.toString(shape) + features.dataType();
        Map<String, Long> sizes = SIZES.computeIfAbsent(net, n -> Collections.synchronizedMap(new HashMap<>()));
        return sizes.computeIfAbsent(key, k -> {
            // A copy: working out the types sets inputs on layer configurations.
            ComputationGraphConfiguration conf = net.getConfiguration().clone();
            Map<String, InputType> types = conf.getLayerActivationTypes(false, false,
                    InputType.convolutional(shape[2], shape[3], shape[1]));
            long elements = 0;
            for (InputType t : types.values()) {
                elements += t.arrayElementsPerExample();
            }
            long values = elements * shape[0] + features.length();
            return (long) (values * net.getConfiguration().getDataType().width() * (1 + MARGIN)) + MARGIN_BYTES;
        });
    }
}
