package io.bitspark.model.arch;

import java.util.List;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.params.DefaultParamInitializer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Inference outputs of a BiT network: pre-logits (the globally pooled features that the head and linear
 * probes read) and raw logits (before softmax or sigmoid), as the official code's {@code model(x)} returns.
 */
public final class BitOutputs {

    private BitOutputs() {}

    /** Pooled features {@code [N, C]} in inference mode, detached from any workspace. */
    public static INDArray preLogits(ComputationGraph net, INDArray input) {
        return net.output(List.of(BitLayerNames.PRE_LOGITS), false, new INDArray[] {input}, null)[0];
    }

    /** Logits {@code [N, classes]}: the head's affine map of the pre-logits, without its activation. */
    public static INDArray logits(ComputationGraph net, INDArray input) {
        return logitsFromPreLogits(net, preLogits(net, input));
    }

    public static INDArray logitsFromPreLogits(ComputationGraph net, INDArray preLogits) {
        INDArray w = net.getLayer(BitLayerNames.HEAD).getParam(DefaultParamInitializer.WEIGHT_KEY);
        INDArray b = net.getLayer(BitLayerNames.HEAD).getParam(DefaultParamInitializer.BIAS_KEY);
        return preLogits.castTo(w.dataType()).mmul(w).addiRowVector(b.reshape(1, b.length()));
    }
}
