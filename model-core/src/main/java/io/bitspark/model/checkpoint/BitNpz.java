package io.bitspark.model.checkpoint;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.bitspark.model.arch.ModelOptions;
import io.bitspark.model.arch.ResNetV2Builder;
import io.bitspark.model.arch.ResNetV2Presets;
import io.bitspark.model.arch.ResNetV2Spec;
import io.bitspark.model.io.Npy;
import io.bitspark.model.io.NpyFormatException;
import io.bitspark.model.io.Npz;

/**
 * Import and export of the official BiT {@code .npz} layout (the format of the released BiT-S/BiT-M
 * weights, read by the official PyTorch/JAX/TF2 code and by timm). Import infers the architecture from
 * keys and shapes, validates every key's shape and dtype from the headers before allocating anything, and
 * then streams one array at a time into the network's parameters; export streams one array at a time the
 * other way. Peak memory beyond the network is the largest single array.
 */
public final class BitNpz {

    private static final Logger LOG = LoggerFactory.getLogger(BitNpz.class);
    private static final Pattern UNIT = Pattern.compile("^resnet/block(\\d+)/unit(\\d+)/");

    private BitNpz() {}

    /** How to import. */
    public record ImportOptions(Integer groups, Integer headClasses, ModelOptions modelOptions) {
        public static ImportOptions defaults() {
            return new ImportOptions(null, null, ModelOptions.defaults());
        }

        /** Drops the checkpoint's head and puts a zero-initialised head of {@code classes} outputs in its place. */
        public ImportOptions withHeadClasses(Integer classes) {
            return new ImportOptions(groups, classes, modelOptions);
        }

        public ImportOptions withGroups(Integer g) {
            return new ImportOptions(g, headClasses, modelOptions);
        }

        public ImportOptions withModelOptions(ModelOptions m) {
            return new ImportOptions(groups, headClasses, m);
        }
    }

    /** An imported network with the spec it was built from and whether its head was replaced. */
    public record Imported(ComputationGraph net, ResNetV2Spec spec, boolean headReplaced, int checkpointClasses) {}

    /**
     * Infers the architecture of a BiT checkpoint: units per stage from the unit keys, width from the root
     * kernel, classes from the head bias. GroupNorm groups are not recorded in the file: BiT's 32 unless
     * {@code groups} says otherwise.
     */
    public static ResNetV2Spec inferSpec(Npz npz, Integer groups) throws IOException {
        String file = npz.path().toString();
        if (!npz.contains(BitCheckpointLayout.ROOT_KERNEL)) {
            throw new CheckpointException(file + ": not a BiT checkpoint: no key '" + BitCheckpointLayout.ROOT_KERNEL
                    + "' (" + npz.keys().size() + " keys, e.g. " + npz.keys().stream().limit(3).toList() + ")");
        }
        long[] root = npz.header(BitCheckpointLayout.ROOT_KERNEL).shape();
        if (root.length != 4 || root[0] != 7 || root[1] != 7 || root[2] != 3 || root[3] < 1) {
            throw new CheckpointException(file + ": key '" + BitCheckpointLayout.ROOT_KERNEL
                    + "': expected shape [7, 7, 3, width], found " + Arrays.toString(root));
        }
        TreeMap<Integer, Integer> units = new TreeMap<>();
        for (String k : npz.keys()) {
            Matcher m = UNIT.matcher(k);
            if (m.find()) {
                units.merge(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Math::max);
            }
        }
        if (units.isEmpty()) {
            throw new CheckpointException(file + ": not a BiT checkpoint: no 'resnet/block*/unit*' keys");
        }
        List<Integer> perStage = new ArrayList<>();
        for (int b = 1; b <= units.lastKey(); b++) {
            Integer n = units.get(b);
            if (n == null) {
                throw new CheckpointException(file + ": block" + b + " is missing (found blocks " + units.keySet() + ")");
            }
            perStage.add(n);
        }
        if (!npz.contains(BitCheckpointLayout.HEAD_BIAS)) {
            throw new CheckpointException(file + ": missing key '" + BitCheckpointLayout.HEAD_BIAS + "'");
        }
        long[] bias = npz.header(BitCheckpointLayout.HEAD_BIAS).shape();
        if (bias.length != 1 || bias[0] < 1) {
            throw new CheckpointException(file + ": key '" + BitCheckpointLayout.HEAD_BIAS
                    + "': expected shape [classes], found " + Arrays.toString(bias));
        }
        int baseWidth = (int) root[3];
        int g = groups != null ? groups : ResNetV2Spec.BIT_GROUPS;
        if (baseWidth % g != 0) {
            throw new CheckpointException(file + ": root width " + baseWidth + " is not divisible by " + g
                    + " GroupNorm groups; give the groups explicitly");
        }
        String name = "custom";
        for (String p : ResNetV2Presets.names()) {
            ResNetV2Spec s = ResNetV2Presets.get(p);
            if (s.unitsPerStage().equals(perStage) && s.baseWidth() == baseWidth && s.groups() == g) {
                name = p;
                break;
            }
        }
        return new ResNetV2Spec(name, perStage, baseWidth, g, ResNetV2Spec.BIT_GN_EPSILON, ResNetV2Spec.BIT_WS_EPSILON,
                (int) bias[0], ResNetV2Spec.Stem.BIT);
    }

    /** Imports a BiT checkpoint, inferring the architecture. */
    public static Imported load(Path file, ImportOptions options) throws IOException {
        try (Npz npz = Npz.open(file)) {
            ResNetV2Spec fileSpec = inferSpec(npz, options.groups());
            return load(npz, fileSpec, options);
        }
    }

    /** Imports a checkpoint whose architecture is known (e.g. from provenance); every key and shape is checked. */
    public static Imported load(Npz npz, ResNetV2Spec fileSpec, ImportOptions options) throws IOException {
        String file = npz.path().toString();
        boolean replaceHead = options.headClasses() != null && options.headClasses() != fileSpec.numClasses();
        ResNetV2Spec spec = replaceHead ? fileSpec.withClasses(options.headClasses()) : fileSpec;

        // Validate everything from headers first: no weights are allocated for a bad file.
        Map<String, long[]> expected = BitCheckpointLayout.expectedShapes(
                ResNetV2Builder.configuration(fileSpec, options.modelOptions()));
        Set<String> have = new TreeSet<>(npz.keys());
        for (Map.Entry<String, long[]> e : expected.entrySet()) {
            if (!have.contains(e.getKey())) {
                throw new CheckpointException(file + ": missing key '" + e.getKey() + "' (expected shape "
                        + Arrays.toString(e.getValue()) + ")");
            }
            Npy.Header h = npz.header(e.getKey());
            if (!Arrays.equals(h.shape(), e.getValue())) {
                throw new CheckpointException(file + ": key '" + e.getKey() + "': expected shape "
                        + Arrays.toString(e.getValue()) + ", found " + Arrays.toString(h.shape()));
            }
            DataType t = h.dataType();
            if (t != DataType.FLOAT && t != DataType.DOUBLE && t != DataType.HALF) {
                throw new CheckpointException(file + ": key '" + e.getKey() + "': dtype " + h.descr()
                        + " is not float16/32/64");
            }
        }
        Set<String> unexpected = new TreeSet<>(have);
        unexpected.removeAll(expected.keySet());
        if (!unexpected.isEmpty()) {
            throw new CheckpointException(file + ": unexpected key '" + unexpected.iterator().next() + "' for a "
                    + fileSpec.name() + " " + fileSpec.unitsPerStage() + " checkpoint (" + unexpected.size() + " unexpected)");
        }

        ComputationGraphConfiguration conf = ResNetV2Builder.configuration(spec, options.modelOptions());
        ComputationGraph net = new ComputationGraph(conf);
        long n = ResNetV2Builder.parameterCounts(conf).values().stream().mapToLong(Long::longValue).sum();
        // Uninitialised parameters: every entry is overwritten below (the head is zeroed when replaced).
        net.init(Nd4j.createUninitialized(options.modelOptions().dataType(), 1, n), false);

        long t0 = System.nanoTime();
        for (Map.Entry<String, BitCheckpointLayout.Entry> e : BitCheckpointLayout.entries(net).entrySet()) {
            BitCheckpointLayout.Entry entry = e.getValue();
            boolean isHead = e.getKey().equals(BitCheckpointLayout.HEAD_KERNEL) || e.getKey().equals(BitCheckpointLayout.HEAD_BIAS);
            if (replaceHead && isHead) {
                entry.value().assign(0);
                continue;
            }
            INDArray a;
            try {
                a = npz.read(e.getKey());
            } catch (NpyFormatException ex) {
                throw new CheckpointException(ex.getMessage(), ex);
            }
            BitCheckpointLayout.assign(entry, a);
            a.close();
        }
        LOG.info("imported {} ({} parameters{}) in {} s", file, n,
                replaceHead ? ", new zero head of " + spec.numClasses() + " classes" : "",
                String.format("%.1f", (System.nanoTime() - t0) / 1e9));
        return new Imported(net, spec, replaceHead, fileSpec.numClasses());
    }

    /** Writes {@code net}'s parameters in the official layout, float32, one array at a time. */
    public static void write(ComputationGraph net, OutputStream out) throws IOException {
        try (Npz.Writer w = new Npz.Writer(out)) {
            for (BitCheckpointLayout.Entry e : BitCheckpointLayout.entries(net).values()) {
                INDArray a = BitCheckpointLayout.toCheckpoint(e);
                INDArray f = a.dataType() == DataType.FLOAT ? a : a.castTo(DataType.FLOAT);
                w.put(e.key(), f);
                if (f != a) {
                    f.close();
                }
                a.close();
            }
        }
    }
}
