package io.bitspark.model.layers;

import java.util.Collection;
import java.util.Objects;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Configuration of a weight-standardized 2D convolution (Qiao et al., 2019; BiT's {@code StdConv2d}):
 * each output channel's kernel is standardized over (in, kh, kw) with the biased variance before the
 * convolution, {@code w' = (w - mean) / sqrt(var + eps)}. No bias, identity activation, symmetric explicit
 * padding, NCHW activations and OIHW kernels. The trainable parameter is the raw kernel {@code W}.
 */
public class StandardizedConv2D extends ConvolutionLayer {

    private double wsEpsilon = 1e-10;
    /** False for the network's first convolution: backprop computes no gradient with respect to the images. */
    private boolean inputGradient = true;

    /** For JSON deserialization. */
    public StandardizedConv2D() {
        super();
    }

    protected StandardizedConv2D(Builder builder) {
        super(builder);
        this.wsEpsilon = builder.wsEpsilon;
        this.inputGradient = builder.inputGradient;
    }

    public double getWsEpsilon() {
        return wsEpsilon;
    }

    public void setWsEpsilon(double wsEpsilon) {
        this.wsEpsilon = wsEpsilon;
    }

    public boolean isInputGradient() {
        return inputGradient;
    }

    public void setInputGradient(boolean inputGradient) {
        this.inputGradient = inputGradient;
    }

    @Override
    public Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> trainingListeners,
                             int layerIndex, INDArray layerParamsView, boolean initializeParams, DataType networkDataType) {
        return LayerWiring.wire(new StandardizedConv2DLayer(conf, networkDataType), initializer(), conf, trainingListeners, layerIndex,
                layerParamsView, initializeParams);
    }

    @Override
    public StandardizedConv2D clone() {
        return (StandardizedConv2D) super.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StandardizedConv2D other && super.equals(o)
                && Double.compare(wsEpsilon, other.wsEpsilon) == 0 && inputGradient == other.inputGradient;
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), wsEpsilon, inputGradient);
    }

    /** Builder: kernel, stride and symmetric padding; no bias. */
    public static class Builder extends ConvolutionLayer.BaseConvBuilder<Builder> {
        private double wsEpsilon = 1e-10;
        private boolean inputGradient = true;

        public Builder(int kernel, int stride, int padding) {
            super(new int[] {kernel, kernel}, new int[] {stride, stride}, new int[] {padding, padding});
            this.hasBias = false;
            this.convolutionMode = ConvolutionMode.Truncate;
            this.activationFn = Activation.IDENTITY.getActivationFunction();
        }

        public Builder wsEpsilon(double eps) {
            if (!(eps > 0)) {
                throw new IllegalArgumentException("wsEpsilon must be positive, got " + eps);
            }
            this.wsEpsilon = eps;
            return this;
        }

        /**
         * False for a network's first convolution, whose input gradient nothing reads (the images): channels-last,
         * backprop computes the kernel gradient alone and hands back an epsilon of undefined values (channels-first
         * keeps {@code conv2d_bp}, whose input gradient then goes unread).
         */
        public Builder inputGradient(boolean inputGradient) {
            this.inputGradient = inputGradient;
            return this;
        }

        @Override
        protected boolean allowCausal() {
            return false;
        }

        @Override
        @SuppressWarnings("unchecked")
        public StandardizedConv2D build() {
            if (hasBias) {
                throw new IllegalStateException("StandardizedConv2D has no bias");
            }
            if (!(activationFn instanceof ActivationIdentity)) {
                throw new IllegalStateException("StandardizedConv2D supports only the identity activation");
            }
            return new StandardizedConv2D(this);
        }
    }
}
