package io.bitspark.model.arch;

import static io.bitspark.model.arch.BitLayerNames.*;

import java.util.LinkedHashMap;
import java.util.Map;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;

import io.bitspark.model.layers.ChannelsLast;
import io.bitspark.model.layers.GroupNormalization;
import io.bitspark.model.layers.ResidualAdd;
import io.bitspark.model.layers.StandardizedConv2D;
import io.bitspark.model.layers.StandardizedKernels;

/**
 * Builds the DL4J graph of a {@link ResNetV2Spec}, vertex by vertex as in the BiT release:
 *
 * <pre>
 * root:  StdConv kxk/s, symmetric pad p (no norm, no ReLU) -> zero pad -> max pool (no padding)
 * unit:  out = relu(gn_a(x)); shortcut = proj(out) in the first unit of a stage, else x
 *        conv_a 1x1 -> relu(gn_b) -> conv_b 3x3 (stride here, pad 1) -> relu(gn_c) -> conv_c 1x1; + shortcut
 * head:  relu(gn(x)) -> global average pool -> 1x1 conv with bias, zero-initialised
 * </pre>
 *
 * The 1x1 head convolution on a 1x1 map is a dense layer; its {@code [C, classes]} weight is the HWIO
 * kernel without its two leading unit axes.
 */
public final class ResNetV2Builder {

    private ResNetV2Builder() {}

    /** A fresh, initialised network; its standardized kernels are kept or recomputed by size ({@link StandardizedKernels#AUTO}). */
    public static ComputationGraph build(ResNetV2Spec spec, ModelOptions options) {
        ComputationGraph net = new ComputationGraph(configuration(spec, options));
        net.init();
        StandardizedKernels.AUTO.applyTo(net);
        return net;
    }

    public static ComputationGraphConfiguration configuration(ResNetV2Spec spec, ModelOptions options) {
        ComputationGraphConfiguration.GraphBuilder g = new NeuralNetConfiguration.Builder()
                .seed(initSeed(options.seed()))
                .dataType(options.dataType())
                .updater(options.updater())
                .weightInit(WeightInit.RELU)
                .l2(options.weightDecay())
                .trainingWorkspaceMode(WorkspaceMode.ENABLED)
                .inferenceWorkspaceMode(WorkspaceMode.ENABLED)
                .graphBuilder()
                .addInputs(INPUT)
                .setInputTypes(InputType.convolutional(options.inputHeight(), options.inputWidth(), 3));

        ResNetV2Spec.Stem stem = spec.stem();
        boolean channelsLast = options.resolvedLayout(spec) == CNN2DFormat.NHWC;
        String first = INPUT;
        if (channelsLast) {
            // Input stays NCHW; everything after this one copy runs channels-last.
            g.addLayer(CHANNELS_LAST, new ChannelsLast.Builder().build(), INPUT);
            first = CHANNELS_LAST;
        }
        // Nothing reads the gradient of the images: the root convolution computes its kernel gradient alone.
        g.addLayer(ROOT_CONV, stdConvBuilder(spec, stem.kernel(), stem.stride(), stem.padding(), spec.baseWidth())
                .inputGradient(false).build(), first);
        String prev = ROOT_CONV;
        if (stem.poolPadding() > 0) {
            int p = stem.poolPadding();
            g.addLayer(ROOT_PAD, new ZeroPaddingLayer.Builder(p, p, p, p).build(), prev);
            prev = ROOT_PAD;
        }
        g.addLayer(ROOT_POOL, new SubsamplingLayer.Builder(PoolingType.MAX)
                .kernelSize(stem.poolKernel(), stem.poolKernel())
                .stride(stem.poolStride(), stem.poolStride())
                .padding(0, 0)
                .convolutionMode(ConvolutionMode.Truncate)
                .build(), prev);
        prev = ROOT_POOL;

        for (int s = 0; s < spec.numStages(); s++) {
            int cmid = spec.midChannels(s);
            int cout = spec.outChannels(s);
            for (int u = 0; u < spec.unitsPerStage().get(s); u++) {
                String unit = unit(s, u);
                int stride = u == 0 ? spec.stageStride(s) : 1;
                g.addLayer(norm(unit, 'a'), groupNorm(spec), prev);
                String shortcut = prev;
                if (u == 0) {
                    // The projection sees the pre-activated input, as in the release (not the raw x).
                    g.addLayer(projection(unit), stdConv(spec, 1, stride, 0, cout), norm(unit, 'a'));
                    shortcut = projection(unit);
                }
                g.addLayer(conv(unit, 'a'), stdConv(spec, 1, 1, 0, cmid), norm(unit, 'a'));
                g.addLayer(norm(unit, 'b'), groupNorm(spec), conv(unit, 'a'));
                g.addLayer(conv(unit, 'b'), stdConv(spec, 3, stride, 1, cmid), norm(unit, 'b'));
                g.addLayer(norm(unit, 'c'), groupNorm(spec), conv(unit, 'b'));
                g.addLayer(conv(unit, 'c'), stdConv(spec, 1, 1, 0, cout), norm(unit, 'c'));
                g.addVertex(add(unit), new ResidualAdd(), conv(unit, 'c'), shortcut);
                prev = add(unit);
            }
        }

        g.addLayer(FINAL_NORM, groupNorm(spec), prev);
        g.addLayer(PRE_LOGITS, new GlobalPoolingLayer.Builder(PoolingType.AVG).collapseDimensions(true)
                .poolingDimensions(channelsLast ? new int[] {1, 2} : new int[] {2, 3}).build(), FINAL_NORM);
        g.addLayer(HEAD, new OutputLayer.Builder(options.loss().lossFunction())
                .activation(options.loss().activation())
                .nOut(spec.numClasses())
                .weightInit(WeightInit.ZERO)
                .biasInit(options.headBiasInit())
                .build(), PRE_LOGITS);
        g.setOutputs(HEAD);
        return g.build();
    }

    /**
     * The ND4J generator seed for a user seed. ND4J's native generator does not reproduce its sequence for
     * seed 0 (two networks built with seed 0 differ), so user seeds go through a bijective mix that never
     * yields 0.
     */
    static long initSeed(long seed) {
        long z = seed + 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z ^= z >>> 31;
        return z == 0 ? 1 : z;
    }

    private static StandardizedConv2D stdConv(ResNetV2Spec spec, int kernel, int stride, int padding, int nOut) {
        return stdConvBuilder(spec, kernel, stride, padding, nOut).build();
    }

    private static StandardizedConv2D.Builder stdConvBuilder(ResNetV2Spec spec, int kernel, int stride, int padding, int nOut) {
        return new StandardizedConv2D.Builder(kernel, stride, padding).wsEpsilon(spec.wsEpsilon()).nOut(nOut);
    }

    private static GroupNormalization groupNorm(ResNetV2Spec spec) {
        return new GroupNormalization.Builder().groups(spec.groups()).epsilon(spec.gnEpsilon()).relu(true).build();
    }

    /** Parameter count per layer vertex, computed from the configuration without allocating weights. */
    public static Map<String, Long> parameterCounts(ComputationGraphConfiguration conf) {
        Map<String, Long> counts = new LinkedHashMap<>();
        // Vertices are kept in insertion order, which is the construction order above.
        for (Map.Entry<String, GraphVertex> e : conf.getVertices().entrySet()) {
            if (e.getValue() instanceof LayerVertex lv) {
                counts.put(e.getKey(), lv.getLayerConf().getLayer().initializer().numParams(lv.getLayerConf()));
            }
        }
        return counts;
    }

    /** Total parameter count, computed from the configuration without allocating weights. */
    public static long parameterCount(ResNetV2Spec spec) {
        return parameterCounts(configuration(spec, ModelOptions.defaults())).values().stream()
                .mapToLong(Long::longValue).sum();
    }
}
