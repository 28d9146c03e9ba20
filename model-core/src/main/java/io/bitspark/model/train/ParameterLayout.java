package io.bitspark.model.train;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.regularization.L2Regularization;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.schedule.FixedSchedule;

import io.bitspark.model.layers.NativeMemory;
import io.bitspark.model.layers.KernelPool;

/**
 * Where each parameter sits in a network's flat parameter (and gradient, and momentum) vector, with what
 * the optimizer applies to it: its L2 coefficient and whether its gradient is an average over the batch. This
 * is the order DL4J flattens in (vertices in topological order, each layer's parameter table in order), checked
 * against the parameter views' addresses, so an update of any slice {@code [from, to)} of the flat vectors
 * does exactly what DL4J's updater does to those elements.
 */
public final class ParameterLayout implements Serializable {

    /** {@code length} parameters from {@code offset}, named {@code vertex_param}. */
    public record Segment(String name, long offset, long length, double l2, boolean divideByBatch) implements Serializable {}

    private final List<Segment> segments;
    private final long size;

    private ParameterLayout(List<Segment> segments, long size) {
        this.segments = List.copyOf(segments);
        this.size = size;
    }

    public static ParameterLayout of(ComputationGraph net) {
        INDArray flat = net.params();
        long base = NativeMemory.address(flat);
        int width = flat.dataType().width();
        List<Segment> out = new ArrayList<>();
        long offset = 0;
        GraphVertex[] vertices = net.getVertices();
        for (int i : net.topologicalSortOrder()) {
            GraphVertex v = vertices[i];
            if (!v.hasLayer() || v.getLayer().numParams() == 0) {
                continue;
            }
            Layer layer = v.getLayer();
            for (Map.Entry<String, INDArray> e : layer.paramTable(false).entrySet()) {
                String name = v.getVertexName() + "_" + e.getKey();
                INDArray p = e.getValue();
                long at = (start(p) - base) / width;
                if (at != offset) {
                    throw new IllegalStateException(name + " sits at " + at + " in the flat parameters, expected " + offset);
                }
                double l2 = 0;
                for (Regularization r : layer.getConfig().getRegularizationByParam(e.getKey())) {
                    if (r instanceof L2Regularization l && l.getL2() instanceof FixedSchedule f) {
                        l2 += f.valueAt(0, 0);
                    } else {
                        throw new UnsupportedOperationException(name + ": regularization " + r + " is not supported by the sharded optimizer");
                    }
                }
                out.add(new Segment(name, offset, p.length(), l2, layer.updaterDivideByMinibatch(e.getKey())));
                offset += p.length();
            }
        }
        if (offset != flat.length()) {
            throw new IllegalStateException("layout covers " + offset + " of " + flat.length() + " parameters");
        }
        return new ParameterLayout(out, offset);
    }

    /** Address of a parameter view's first element, whatever its order (DL4J keeps some kernels in 'f' order). */
    private static long start(INDArray a) {
        org.nd4j.linalg.api.buffer.DataBuffer d = a.data();
        org.nd4j.linalg.api.buffer.DataBuffer original = d.originalDataBuffer();
        long address = original == null || original == d ? d.addressPointer().address() + (long) a.dataType().width() * a.offset()
                : d.addressPointer().address();
        if (!a.isView() && a.length() != a.data().length()) {
            throw new IllegalStateException("parameter array does not cover its buffer");
        }
        return address;
    }

    public List<Segment> segments() {
        return segments;
    }

    public long size() {
        return size;
    }

    /** Element range {@code [from, to)} owned by {@code rank} of {@code n}: balanced, in rank order. */
    public static long[] slice(long size, int rank, int n) {
        return new long[] {size * rank / n, size * (rank + 1) / n};
    }

    /** The first index in {@code [from, to)} of a contiguous float vector that holds NaN or an infinity, or -1. */
    public static long firstNonFinite(INDArray flat, long from, long to) {
        if (flat.dataType() != org.nd4j.linalg.api.buffer.DataType.FLOAT || flat.rank() != 1 || flat.elementWiseStride() != 1
                || to > flat.length()) {
            throw new IllegalArgumentException("expected a contiguous float vector, got " + flat.shapeInfoToString());
        }
        sun.misc.Unsafe u = NativeMemory.unsafe();
        long base = NativeMemory.address(flat);
        for (long i = from; i < to; i++) {
            if (!Float.isFinite(u.getFloat(base + 4 * i))) {
                return i;
            }
        }
        return -1;
    }

    /** "{@code vertex_param}[i]" for an index of the flat vector. */
    public String describe(long index) {
        for (Segment s : segments) {
            if (index >= s.offset() && index < s.offset() + s.length()) {
                return s.name() + "[" + (index - s.offset()) + "]";
            }
        }
        return "parameter " + index;
    }

    /**
     * Null when every parameter of {@code net} is finite, else the first one that is not, named with its value
     * (for example {@code "block1/unit01/a/conv2d_W[17] = NaN"}).
     */
    public static String nonFinite(ComputationGraph net) {
        INDArray flat = net.params();
        INDArray v = flat.rank() == 1 ? flat : flat.reshape(flat.length());
        long bad = firstNonFinite(v, 0, v.length());
        return bad < 0 ? null : of(net).describe(bad) + " = " + v.getFloat(bad);
    }

    /**
     * Sum of squares over {@code [from, to)} of the loss gradient averaged over the batch: {@code gradSum / batch}
     * where the parameter averages over the batch (DL4J's {@code updaterDivideByMinibatch}), {@code gradSum} elsewhere;
     * weight decay is not included. The square root of the sum over all slices is the global gradient norm.
     */
    public double gradientSquares(INDArray gradSum, long from, long to, int batch) {
        double sum = 0;
        for (Segment s : segments) {
            long lo = Math.max(from, s.offset());
            long hi = Math.min(to, s.offset() + s.length());
            if (lo < hi) {
                double d = s.divideByBatch() ? batch : 1;
                sum += squares(gradSum, lo, hi) / (d * d);
            }
        }
        return sum;
    }

    /** Sum of squares of the elements {@code [from, to)} of a contiguous float vector, in double, multithreaded. */
    public static double squares(INDArray flat, long from, long to) {
        if (to <= from) {
            return 0;
        }
        sun.misc.Unsafe u = NativeMemory.unsafe();
        long base = NativeMemory.address(flat);
        int chunk = 1 << 16;
        int chunks = (int) ((to - from + chunk - 1) / chunk);
        double[] part = new double[chunks];
        KernelPool.parallel(chunks, c -> {
            long a = from + (long) c * chunk;
            long b = Math.min(to, a + chunk);
            double acc = 0;
            for (long i = a; i < b; i++) {
                double v = u.getFloat(base + 4 * i);
                acc += v * v;
            }
            part[c] = acc;
        });
        double sum = 0;
        for (double p : part) {
            sum += p;
        }
        return sum;
    }
}
