package io.bitspark.jobs.cli;

import java.awt.image.BufferedImage;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import javax.imageio.ImageIO;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

import io.bitspark.jobs.io.ModelLoader;
import io.bitspark.jobs.io.Stores;
import io.bitspark.model.arch.BitOutputs;
import io.bitspark.model.layers.FrozenKernels;
import io.bitspark.model.arch.LossKind;
import io.bitspark.model.checkpoint.ArtifactStore;
import io.bitspark.data.image.ImageTensors;
import io.bitspark.model.io.Npy;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code bit predict}: logits for a batch file, or top-k classes for a folder of images. */
@Command(name = "predict", mixinStandardHelpOptions = true,
        description = "Run a checkpoint on an NCHW float32 .npy batch scaled to [-1, 1] (writes logits [N, classes]), "
                + "or on a folder of images (resized to the evaluation resolution; prints the top classes).")
public final class PredictCommand implements Callable<Integer> {

    private static final List<String> IMAGE_SUFFIXES = List.of(".jpg", ".jpeg", ".png", ".gif", ".bmp");

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    CheckpointOptions source;

    @Option(names = "--input", required = true, paramLabel = "URI", description = "A .npy batch or a folder of images.")
    String input;

    @Option(names = "--output", paramLabel = "URI", description = "Where to write float32 logits [N, classes] as .npy.")
    String output;

    @Option(names = "--batch-size", defaultValue = "16", description = "Images per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--resolution", defaultValue = "224",
            description = "Square size images are resized to (default: ${DEFAULT-VALUE}).")
    int resolution;

    @Option(names = "--top", defaultValue = "5", description = "Classes to print per image (default: ${DEFAULT-VALUE}).")
    int top;

    @Override
    public Integer call() throws Exception {
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        ModelLoader.Loaded m = ModelLoader.load(source.checkpoint, source.importOptions(), false);
        Stores.Location in = Stores.locate(input);
        PrintWriter out = spec.commandLine().getOut();
        if (input.endsWith(".npy")) {
            if (output == null) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--output is required for a .npy input");
            }
            INDArray x;
            try (InputStream is = in.store().open(in.name())) {
                x = Npy.read(is, in.uri());
            }
            if (x.rank() != 4 || x.size(1) != 3) {
                throw new IllegalArgumentException(in.uri() + ": expected an NCHW batch [N, 3, H, W], got shape "
                        + Arrays.toString(x.shape()));
            }
            INDArray logits = logits(m, x.castTo(DataType.FLOAT));
            write(logits);
            out.printf(Locale.ROOT, "wrote logits %s for %d inputs to %s%n", Arrays.toString(logits.shape()), x.size(0), output);
        } else {
            predictImages(m, in, out);
        }
        out.flush();
        return 0;
    }

    private INDArray logits(ModelLoader.Loaded m, INDArray x) {
        List<INDArray> parts = new ArrayList<>();
        try (FrozenKernels frozen = FrozenKernels.of(m.net())) {
            for (long i = 0; i < x.size(0); i += batchSize) {
                INDArray b = x.get(NDArrayIndex.interval(i, Math.min(x.size(0), i + batchSize)), NDArrayIndex.all(),
                        NDArrayIndex.all(), NDArrayIndex.all()).dup('c');
                parts.add(BitOutputs.logits(m.net(), b));
            }
        }
        return Nd4j.concat(0, parts.toArray(new INDArray[0]));
    }

    private void write(INDArray logits) throws Exception {
        Stores.Location o = Stores.locate(output);
        try (OutputStream os = o.store().create(o.name())) {
            Npy.write(logits.castTo(DataType.FLOAT), os);
        }
    }

    private void predictImages(ModelLoader.Loaded m, Stores.Location dir, PrintWriter out) throws Exception {
        ArtifactStore store = dir.store();
        List<String> names = new ArrayList<>();
        for (String n : store.list(dir.name())) {
            String lower = n.toLowerCase(Locale.ROOT);
            if (IMAGE_SUFFIXES.stream().anyMatch(lower::endsWith)) {
                names.add(n);
            }
        }
        if (names.isEmpty()) {
            throw new IllegalArgumentException(dir.uri() + ": no images (" + String.join(", ", IMAGE_SUFFIXES) + ") found");
        }
        List<String> ok = new ArrayList<>();
        List<float[]> pixels = new ArrayList<>();
        for (String n : names) {
            BufferedImage img;
            try (InputStream is = store.open(dir.name() + "/" + n)) {
                img = ImageIO.read(is);
            } catch (Exception e) {
                img = null;
            }
            if (img == null) {
                out.printf(Locale.ROOT, "%s: skipped (cannot decode)%n", n);
                continue;
            }
            float[] chw = new float[3 * resolution * resolution];
            ImageTensors.toChw(ImageTensors.resize(img, resolution, resolution), chw, 0);
            ok.add(n);
            pixels.add(chw);
        }
        float[] all = new float[pixels.size() * 3 * resolution * resolution];
        for (int i = 0; i < pixels.size(); i++) {
            System.arraycopy(pixels.get(i), 0, all, i * 3 * resolution * resolution, 3 * resolution * resolution);
        }
        INDArray x = Nd4j.create(all, new long[] {pixels.size(), 3, resolution, resolution}, 'c');
        INDArray logits = logits(m, x);
        boolean multiLabel = String.valueOf(m.provenance().config().get("loss"))
                .equalsIgnoreCase(LossKind.SIGMOID_CROSS_ENTROPY.name());
        INDArray probs = multiLabel ? Transforms.sigmoid(logits, true) : Nd4j.nn().softmax(logits, 1);
        List<String> classNames = m.provenance().classNames();
        for (int i = 0; i < ok.size(); i++) {
            double[] row = probs.getRow(i).toDoubleVector();
            Integer[] order = new Integer[row.length];
            for (int c = 0; c < row.length; c++) {
                order[c] = c;
            }
            Arrays.sort(order, (a, b) -> Double.compare(row[b], row[a]));
            StringBuilder sb = new StringBuilder(ok.get(i)).append(':');
            for (int k = 0; k < Math.min(top, row.length); k++) {
                int c = order[k];
                String label = classNames != null && c < classNames.size() ? classNames.get(c) : String.valueOf(c);
                sb.append(String.format(Locale.ROOT, " %s (%.3f)%s", label, row[c], k + 1 < Math.min(top, row.length) ? "," : ""));
            }
            out.println(sb);
        }
        if (output != null) {
            write(logits);
        }
    }
}
