package io.bitspark.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.bitspark.model.arch.BitOutputs;
import io.bitspark.model.arch.ModelOptions;
import io.bitspark.model.arch.ResNetV2Builder;
import io.bitspark.model.arch.ResNetV2Presets;
import io.bitspark.model.arch.ResNetV2Spec;
import io.bitspark.model.io.Npy;
import io.bitspark.model.layers.GradientChecks;
import io.bitspark.model.train.SgdMomentum;

/**
 * A network trained a few steps in Java, exported to the official layout, gives the same logits in the
 * independent NumPy reference ({@code golden/bit_reference.py}), run here on the exported file. Needs
 * {@code python3} with NumPy (Debian python3-numpy, installed by bin/setup).
 */
class ExportReferenceTest {

    private static final Logger LOG = LoggerFactory.getLogger(ExportReferenceTest.class);

    static String python() throws Exception {
        for (String candidate : List.of("/usr/bin/python3", "python3")) {
            try {
                Process p = new ProcessBuilder(candidate, "-c", "import numpy").redirectErrorStream(true).start();
                if (p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0) {
                    return candidate;
                }
            } catch (java.io.IOException e) {
                // try the next one
            }
        }
        return fail("python3 with NumPy is needed for the reference check (Debian python3-numpy; bin/setup installs it)");
    }

    @Test
    void javaTrainedExportReproducesJavaLogitsInTheReference(@TempDir Path dir) throws Exception {
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        ResNetV2Spec spec = ResNetV2Presets.get("tiny");
        ComputationGraph net = ResNetV2Builder.build(spec, ModelOptions.defaults()
                .withUpdater(new SgdMomentum(0.1, 0.9)).withWeightDecay(1e-4).withInputSize(32, 32).withSeed(11));
        DataSet ds = new DataSet(GradientChecks.gaussian(1, 6, 3, 32, 32).castTo(DataType.FLOAT),
                GradientChecks.oneHot(2, 6, spec.numClasses()).castTo(DataType.FLOAT));
        for (int i = 0; i < 4; i++) {
            net.fit(ds);
        }
        Path npz = dir.resolve("trained.npz");
        try (OutputStream out = Files.newOutputStream(npz)) {
            BitNpz.write(net, out);
        }
        INDArray x = FormulaWeights.input(3, 3, 45, 45);
        Path in = dir.resolve("input.npy");
        try (OutputStream out = Files.newOutputStream(in)) {
            Npy.write(x, out);
        }
        Path script = Path.of(ExportReferenceTest.class.getResource("/golden/bit_reference.py").toURI());
        Path outFile = dir.resolve("logits.npy");
        Process p = new ProcessBuilder(python(), script.toString(), npz.toString(), in.toString(), outFile.toString(),
                String.valueOf(spec.groups())).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "reference timed out");
        assertEquals(0, p.exitValue(), log);

        INDArray reference;
        try (var s = Files.newInputStream(outFile)) {
            reference = Npy.read(s, outFile.toString());
        }
        INDArray java = BitOutputs.logits(net, x);
        double err = BitNpzTest.scaledError(reference, java);
        LOG.info("java vs numpy reference on exported weights: scaled max error {} (max |logit| {})", err,
                reference.amaxNumber());
        assertTrue(java.amaxNumber().doubleValue() > 1e-3, "trained logits are all ~0: the check would be vacuous");
        assertTrue(err < 1e-4, "scaled logit error " + err);
    }
}
