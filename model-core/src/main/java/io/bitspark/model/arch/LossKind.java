package io.bitspark.model.arch;

import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.lossfunctions.impl.LossBinaryXENT;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;

/**
 * The two upstream losses of BiT: softmax cross-entropy for single-label data (one-hot labels) and sigmoid
 * cross-entropy for multi-label data such as ImageNet-21k and JFT (k-hot labels, one binary classifier per
 * class, summed over classes and averaged over the batch).
 */
public enum LossKind {
    SOFTMAX_CROSS_ENTROPY(Activation.SOFTMAX),
    SIGMOID_CROSS_ENTROPY(Activation.SIGMOID);

    private final Activation activation;

    LossKind(Activation activation) {
        this.activation = activation;
    }

    /** Activation applied to the logits by the head. */
    public Activation activation() {
        return activation;
    }

    /** A fresh loss function instance (instances carry state such as clipping epsilons). */
    public ILossFunction lossFunction() {
        return switch (this) {
            case SOFTMAX_CROSS_ENTROPY -> new LossMCXENT();
            case SIGMOID_CROSS_ENTROPY -> new LossBinaryXENT();
        };
    }
}
