package io.bitspark.model.layers;

import java.util.Collection;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.NoParamLayer;
import org.deeplearning4j.nn.conf.memory.LayerMemoryReport;
import org.deeplearning4j.nn.conf.memory.MemoryReport;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Turns NCHW images into NHWC activations (one copy), so a network can take the usual NCHW input while its
 * layers run channels-last, which oneDNN's convolutions prefer (no layout reorders on every call). It sits at the
 * network's input: backprop computes no gradient with respect to the images (see {@link ChannelsLastLayer}).
 */
public class ChannelsLast extends NoParamLayer {

    /** For JSON deserialization. */
    public ChannelsLast() {
        super();
    }

    protected ChannelsLast(Builder builder) {
        super(builder);
    }

    @Override
    public Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> trainingListeners,
                             int layerIndex, INDArray layerParamsView, boolean initializeParams, DataType networkDataType) {
        return LayerWiring.wire(new ChannelsLastLayer(conf, networkDataType), initializer(), conf, trainingListeners, layerIndex,
                layerParamsView, initializeParams);
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType inputType) {
        if (!(inputType instanceof InputType.InputTypeConvolutional c) || c.getFormat() != CNN2DFormat.NCHW) {
            throw new IllegalStateException("ChannelsLast \"" + getLayerName() + "\" expects NCHW convolutional input, got "
                    + inputType);
        }
        return InputType.convolutional(c.getHeight(), c.getWidth(), c.getChannels(), CNN2DFormat.NHWC);
    }

    @Override
    public InputPreProcessor getPreProcessorForInputType(InputType inputType) {
        return null;
    }

    @Override
    public LayerMemoryReport getMemoryReport(InputType inputType) {
        InputType out = getOutputType(-1, inputType);
        return new LayerMemoryReport.Builder(layerName, ChannelsLast.class, inputType, out)
                .standardMemory(0, 0)
                .workingMemory(0, 0, MemoryReport.CACHE_MODE_ALL_ZEROS, MemoryReport.CACHE_MODE_ALL_ZEROS)
                .cacheMemory(MemoryReport.CACHE_MODE_ALL_ZEROS, MemoryReport.CACHE_MODE_ALL_ZEROS)
                .build();
    }

    @Override
    public ChannelsLast clone() {
        return (ChannelsLast) super.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ChannelsLast && super.equals(o);
    }

    @Override
    public int hashCode() {
        return super.hashCode();
    }

    /** Builder (no settings). */
    public static class Builder extends org.deeplearning4j.nn.conf.layers.Layer.Builder<Builder> {
        @Override
        @SuppressWarnings("unchecked")
        public ChannelsLast build() {
            return new ChannelsLast(this);
        }
    }
}
