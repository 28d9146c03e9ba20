package io.bitspark.model.layers;

import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.InputTypeUtil;
import org.deeplearning4j.nn.conf.memory.LayerMemoryReport;
import org.deeplearning4j.nn.conf.memory.MemoryReport;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.regularization.Regularization;

/**
 * Configuration of Group Normalization (Wu and He, 2018) over NCHW or NHWC activations (the layout follows
 * the input type), optionally followed by a
 * ReLU (every GroupNorm in BiT's ResNet-v2 is). Statistics are per example and group over
 * {@code (C / groups, H, W)} with the biased variance; {@code gamma} starts at 1 and {@code beta} at 0.
 * Gamma and beta are not weight-decayed.
 */
public class GroupNormalization extends FeedForwardLayer {

    private int groups = 32;
    private double epsilon = 1e-5;
    /** Layout of the activations; configurations saved before layouts were selectable are NCHW. */
    private CNN2DFormat dataFormat = CNN2DFormat.NCHW;

    /** For JSON deserialization. */
    public GroupNormalization() {
        super();
    }

    protected GroupNormalization(Builder builder) {
        super(builder);
        this.groups = builder.groups;
        this.epsilon = builder.epsilon;
    }

    public int getGroups() {
        return groups;
    }

    public void setGroups(int groups) {
        this.groups = groups;
    }

    public CNN2DFormat getDataFormat() {
        return dataFormat;
    }

    public void setDataFormat(CNN2DFormat dataFormat) {
        this.dataFormat = dataFormat;
    }

    public double getEpsilon() {
        return epsilon;
    }

    public void setEpsilon(double epsilon) {
        this.epsilon = epsilon;
    }

    @Override
    public Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> trainingListeners,
                             int layerIndex, INDArray layerParamsView, boolean initializeParams, DataType networkDataType) {
        return LayerWiring.wire(new GroupNormalizationLayer(conf, networkDataType), initializer(), conf, trainingListeners, layerIndex,
                layerParamsView, initializeParams);
    }

    @Override
    public ParamInitializer initializer() {
        return GroupNormParamInitializer.getInstance();
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType inputType) {
        InputType.InputTypeConvolutional c = requireCnn(inputType);
        if (c.getChannels() % groups != 0) {
            throw new IllegalStateException("GroupNorm \"" + getLayerName() + "\": " + c.getChannels()
                    + " channels are not divisible by " + groups + " groups");
        }
        return inputType;
    }

    @Override
    public void setNIn(InputType inputType, boolean override) {
        InputType.InputTypeConvolutional c = requireCnn(inputType);
        if (nIn <= 0 || override) {
            nIn = c.getChannels();
            nOut = c.getChannels();
        }
        dataFormat = c.getFormat();
    }

    @Override
    public InputPreProcessor getPreProcessorForInputType(InputType inputType) {
        return InputTypeUtil.getPreProcessorForInputTypeCnnLayers(inputType, getLayerName());
    }

    @Override
    public List<Regularization> getRegularizationByParam(String paramName) {
        return Collections.emptyList();
    }

    @Override
    public boolean isPretrainParam(String paramName) {
        return false;
    }

    @Override
    public LayerMemoryReport getMemoryReport(InputType inputType) {
        long params = initializer().numParams(this);
        long perEx = inputType.arrayElementsPerExample();
        // Forward keeps nothing beyond the output; backward re-derives the normalized input (one
        // activation-sized buffer) and writes the input gradient.
        return new LayerMemoryReport.Builder(layerName, GroupNormalization.class, inputType, inputType)
                .standardMemory(params, getIUpdater() == null ? 0 : getIUpdater().stateSize(params))
                .workingMemory(0, perEx, MemoryReport.CACHE_MODE_ALL_ZEROS, MemoryReport.cacheModeMapFor(2 * perEx))
                .cacheMemory(MemoryReport.CACHE_MODE_ALL_ZEROS, MemoryReport.CACHE_MODE_ALL_ZEROS)
                .build();
    }

    @Override
    public GroupNormalization clone() {
        return (GroupNormalization) super.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GroupNormalization other && super.equals(o) && groups == other.groups
                && Double.compare(epsilon, other.epsilon) == 0 && dataFormat == other.dataFormat;
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), groups, epsilon, dataFormat);
    }

    private InputType.InputTypeConvolutional requireCnn(InputType inputType) {
        if (!(inputType instanceof InputType.InputTypeConvolutional c)) {
            throw new IllegalStateException("GroupNorm \"" + getLayerName() + "\" expects convolutional input, got "
                    + inputType);
        }
        return c;
    }

    /** Builder: groups, epsilon and an identity or ReLU activation. */
    public static class Builder extends FeedForwardLayer.Builder<Builder> {
        private int groups = 32;
        private double epsilon = 1e-5;

        public Builder() {
            this.activationFn = Activation.IDENTITY.getActivationFunction();
        }

        public Builder groups(int groups) {
            if (groups < 1) {
                throw new IllegalArgumentException("groups must be positive, got " + groups);
            }
            this.groups = groups;
            return this;
        }

        public Builder epsilon(double epsilon) {
            if (!(epsilon > 0)) {
                throw new IllegalArgumentException("epsilon must be positive, got " + epsilon);
            }
            this.epsilon = epsilon;
            return this;
        }

        /** Applies a ReLU after the affine transform. */
        public Builder relu(boolean relu) {
            this.activationFn = (relu ? Activation.RELU : Activation.IDENTITY).getActivationFunction();
            return this;
        }

        @Override
        @SuppressWarnings("unchecked")
        public GroupNormalization build() {
            if (!(activationFn instanceof ActivationIdentity) && !(activationFn instanceof ActivationReLU)) {
                throw new IllegalStateException("GroupNormalization supports identity or ReLU, got " + activationFn);
            }
            return new GroupNormalization(this);
        }
    }
}
