package io.bitspark.model.checkpoint;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.params.DefaultParamInitializer;
import org.nd4j.linalg.api.ndarray.INDArray;

import io.bitspark.model.arch.BitLayerNames;
import io.bitspark.model.layers.GroupNormParamInitializer;
import io.bitspark.model.layers.GroupNormalization;
import io.bitspark.model.layers.StandardizedConv2D;

/**
 * The pure name and layout mapping between a graph built by {@code ResNetV2Builder} and the official BiT
 * checkpoint layout: key {@code "resnet/" + vertex + "/" + kernel|gamma|beta|bias}; convolution kernels are
 * HWIO in the checkpoint and OIHW in DL4J (HWIO -> OIHW is a {@code [3, 2, 0, 1]} permute); the head kernel
 * is {@code [1, 1, C, classes]} in the checkpoint and {@code [C, classes]} in DL4J.
 */
public final class BitCheckpointLayout {

    public static final String PREFIX = "resnet/";
    public static final String ROOT_KERNEL = PREFIX + BitLayerNames.ROOT_CONV + "/kernel";
    public static final String HEAD_KERNEL = PREFIX + BitLayerNames.HEAD + "/kernel";
    public static final String HEAD_BIAS = PREFIX + BitLayerNames.HEAD + "/bias";

    private BitCheckpointLayout() {}

    /** One graph parameter and its checkpoint key. */
    public record Entry(String vertex, String param, String key, INDArray value) {}

    /** Every parameter of {@code net} with its checkpoint key, in graph order; values are live views. */
    public static Map<String, Entry> entries(ComputationGraph net) {
        Map<String, Entry> out = new LinkedHashMap<>();
        for (Layer layer : net.getLayers()) {
            org.deeplearning4j.nn.conf.layers.Layer c = layer.conf().getLayer();
            String vertex = c.getLayerName();
            for (Map.Entry<String, INDArray> p : layer.paramTable().entrySet()) {
                String key = key(vertex, c, p.getKey());
                out.put(key, new Entry(vertex, p.getKey(), key, p.getValue()));
            }
        }
        return out;
    }

    /**
     * Checkpoint keys and their checkpoint-layout shapes for a configuration, in graph order, without
     * allocating the network: what a BiT {@code .npz} for this architecture must contain.
     */
    public static Map<String, long[]> expectedShapes(ComputationGraphConfiguration conf) {
        Map<String, long[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, GraphVertex> v : conf.getVertices().entrySet()) {
            if (!(v.getValue() instanceof LayerVertex lv)) {
                continue;
            }
            org.deeplearning4j.nn.conf.layers.Layer c = lv.getLayerConf().getLayer();
            for (String param : c.initializer().paramKeys(c)) {
                long[] shape;
                if (c instanceof StandardizedConv2D conv) {
                    shape = new long[] {conv.getKernelSize()[0], conv.getKernelSize()[1], conv.getNIn(), conv.getNOut()};
                } else if (c instanceof GroupNormalization gn) {
                    shape = new long[] {gn.getNOut()};
                } else if (c instanceof OutputLayer head) {
                    shape = param.equals(DefaultParamInitializer.WEIGHT_KEY)
                            ? new long[] {1, 1, head.getNIn(), head.getNOut()} : new long[] {head.getNOut()};
                } else {
                    throw new IllegalStateException("no BiT checkpoint layout for " + c.getClass().getSimpleName());
                }
                out.put(key(v.getKey(), c, param), shape);
            }
        }
        return out;
    }

    /** The checkpoint key of parameter {@code param} of layer {@code c} at vertex {@code vertex}. */
    static String key(String vertex, org.deeplearning4j.nn.conf.layers.Layer c, String param) {
        String suffix;
        if (c instanceof StandardizedConv2D) {
            suffix = "kernel";
        } else if (c instanceof GroupNormalization) {
            suffix = param.equals(GroupNormParamInitializer.GAMMA) ? "gamma" : "beta";
        } else if (c instanceof OutputLayer && vertex.equals(BitLayerNames.HEAD)) {
            suffix = param.equals(DefaultParamInitializer.WEIGHT_KEY) ? "kernel" : "bias";
        } else {
            throw new IllegalStateException("no BiT checkpoint name for parameter " + param + " of " + vertex);
        }
        return PREFIX + vertex + "/" + suffix;
    }

    /** Converts a graph parameter to its checkpoint layout (a new array). */
    public static INDArray toCheckpoint(Entry e) {
        INDArray v = e.value();
        if (e.key().endsWith("/kernel")) {
            if (v.rank() == 4) {
                return v.permute(2, 3, 1, 0).dup('c');              // OIHW -> HWIO
            }
            return v.reshape('c', 1, 1, v.size(0), v.size(1)).dup('c'); // head [C, K] -> [1, 1, C, K]
        }
        return v.reshape(v.length()).dup('c');
    }

    /** Shape the checkpoint must have for {@code e}. */
    public static long[] checkpointShape(Entry e) {
        long[] s = e.value().shape();
        if (e.key().endsWith("/kernel")) {
            return s.length == 4 ? new long[] {s[2], s[3], s[1], s[0]} : new long[] {1, 1, s[0], s[1]};
        }
        return new long[] {e.value().length()};
    }

    /** Copies a checkpoint array into the graph parameter of {@code e}, converting layout and dtype. */
    public static void assign(Entry e, INDArray fromCheckpoint) {
        long[] want = checkpointShape(e);
        if (!Arrays.equals(want, fromCheckpoint.shape())) {
            throw new IllegalArgumentException("checkpoint key '" + e.key() + "': expected shape " + Arrays.toString(want)
                    + ", found " + Arrays.toString(fromCheckpoint.shape()));
        }
        INDArray v = fromCheckpoint.castTo(e.value().dataType());
        if (e.key().endsWith("/kernel")) {
            v = v.rank() == 4 && e.value().rank() == 4 ? v.permute(3, 2, 0, 1) : v.reshape(e.value().shape());
        } else {
            v = v.reshape(e.value().shape());
        }
        e.value().assign(v);
    }

    /** Keys that the graph expects and the given key set lacks, and keys it has that the graph does not use. */
    public record KeyDiff(Set<String> missing, Set<String> unexpected) {
        public boolean isEmpty() {
            return missing.isEmpty() && unexpected.isEmpty();
        }
    }

    public static KeyDiff diff(ComputationGraph net, Set<String> checkpointKeys) {
        Set<String> expected = entries(net).keySet();
        Set<String> missing = new LinkedHashSet<>(expected);
        missing.removeAll(checkpointKeys);
        Set<String> unexpected = new LinkedHashSet<>(checkpointKeys);
        unexpected.removeAll(expected);
        return new KeyDiff(missing, unexpected);
    }
}
