package io.bitspark.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import javax.imageio.ImageIO;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import io.bitspark.jobs.cli.ModelCommandTest.Run;
import io.bitspark.model.arch.ModelOptions;
import io.bitspark.model.arch.ResNetV2Builder;
import io.bitspark.model.arch.ResNetV2Presets;
import io.bitspark.model.arch.ResNetV2Spec;
import io.bitspark.model.checkpoint.FormulaWeights;
import io.bitspark.model.checkpoint.LocalStore;
import io.bitspark.model.checkpoint.ProjectCheckpoint;
import io.bitspark.model.checkpoint.Provenance;
import io.bitspark.model.io.Npy;
import io.bitspark.model.io.Npz;

class CheckpointCommandsTest {

    @BeforeAll
    static void floats() {
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
    }

    /** A reference file of model-core's test jar, copied out so that it can be opened as a zip. */
    static Path golden(String name, Path dir) throws Exception {
        Path out = dir.resolve("golden-" + name);
        try (InputStream in = CheckpointCommandsTest.class.getResourceAsStream("/golden/" + name)) {
            Files.copy(in, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        return out;
    }

    static INDArray readNpy(Path p) throws Exception {
        try (InputStream in = Files.newInputStream(p)) {
            return Npy.read(in, p.toString());
        }
    }

    static void writeNpy(Path p, INDArray a) throws Exception {
        try (OutputStream out = Files.newOutputStream(p)) {
            Npy.write(a, out);
        }
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource({"formula_tiny.npz, tiny, 4", "formula_r50x1_c10.npz, r50x1, 32"})
    void predictOnAnOfficialNpzMatchesTheReference(String reference, String preset, int groups, @TempDir Path dir) throws Exception {
        Path weights = FormulaWeights.write(ResNetV2Presets.get(preset).withClasses(10), dir.resolve(preset + ".npz"));
        INDArray expected;
        try (Npz ref = Npz.open(golden(reference, dir))) {
            writeNpy(dir.resolve("batch.npy"), ref.read("input"));
            expected = ref.read("logits");
        }
        Run r = ModelCommandTest.bit("predict", "--checkpoint", weights.toString(), "--groups", String.valueOf(groups),
                "--input", dir.resolve("batch.npy").toString(), "--output", dir.resolve("logits.npy").toString(),
                "--batch-size", "1");
        assertEquals(0, r.code(), r.err());
        INDArray logits = readNpy(dir.resolve("logits.npy"));
        assertEquals(DataType.FLOAT, logits.dataType());
        double scale = Math.max(1, expected.amaxNumber().doubleValue());
        double err = expected.sub(logits).amaxNumber().doubleValue() / scale;
        assertTrue(err < 1e-4, "scaled logit error " + err);
    }

    /** npz -> dl4j checkpoint -> npz gives bit-identical arrays; provenance follows the artifact. */
    @Test
    void exportRoundTripsThroughBothFormats(@TempDir Path dir) throws Exception {
        Path first = FormulaWeights.write(ResNetV2Presets.get("tiny"), dir.resolve("first.npz"));
        Run a = ModelCommandTest.bit("export", "--checkpoint", first.toString(), "--groups", "4",
                "--format", "dl4j", "--output", dir.resolve("ckpt").toUri().toString());
        assertEquals(0, a.code(), a.err());
        assertTrue(ProjectCheckpoint.isComplete(new LocalStore(dir), "ckpt"));
        Run b = ModelCommandTest.bit("export", "--checkpoint", dir.resolve("ckpt").toString(),
                "--format", "npz", "--output", dir.resolve("second.npz").toString());
        assertEquals(0, b.code(), b.err());
        try (Npz x = Npz.open(first); Npz y = Npz.open(dir.resolve("second.npz"))) {
            assertEquals(x.keys(), y.keys());
            for (String k : x.keys()) {
                assertEquals(x.read(k), y.read(k), k);
            }
        }
        Run info = ModelCommandTest.bit("info", dir.resolve("second.npz").toString());
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains("kind: export") && info.out().contains("made from: ")
                && info.out().contains("ckpt") && info.out().contains("4 groups"), info.out());
        Run infoDir = ModelCommandTest.bit("info", dir.resolve("ckpt").toString());
        assertTrue(infoDir.out().contains("(complete, read back and verified when written)") && infoDir.out().contains("sha256"), infoDir.out());
    }

    @Test
    void predictOnAFolderOfImagesPrintsTopClassesWithNames(@TempDir Path dir) throws Exception {
        ResNetV2Spec spec = ResNetV2Presets.get("tiny").withClasses(3);
        var net = ResNetV2Builder.build(spec, ModelOptions.defaults().withInputSize(32, 32));
        // A head that prefers class 2 ("blue") for every input: bias only.
        net.getLayer("head/conv2d").getParam("b").assign(Nd4j.createFromArray(0f, 1f, 3f).reshape(1, 3));
        Provenance p = Provenance.of(Provenance.Kind.FINETUNE, spec).data(null, List.of("red", "green", "blue")).build();
        ProjectCheckpoint.write(new LocalStore(dir), "ckpt", net, p, false);
        Path images = Files.createDirectories(dir.resolve("images"));
        for (String name : List.of("a.png", "b.jpg")) {
            BufferedImage img = new BufferedImage(50, 40, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = img.createGraphics();
            g.setColor(Color.ORANGE);
            g.fillRect(5, 5, 30, 20);
            g.dispose();
            ImageIO.write(img, name.endsWith(".png") ? "png" : "jpg", images.resolve(name).toFile());
        }
        Files.writeString(images.resolve("broken.jpg"), "not an image");
        Run r = ModelCommandTest.bit("predict", "--checkpoint", dir.resolve("ckpt").toString(), "--input",
                images.toString(), "--resolution", "32", "--top", "2");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("a.png: blue (0.844), green (0.114)"), r.out());
        assertTrue(r.out().contains("b.jpg: blue"), r.out());
        assertTrue(r.out().contains("broken.jpg: skipped (cannot decode)"), r.out());
    }

    @Test
    void exportToHdfsAndPredictFromIt(@TempDir Path dir) throws Exception {
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, dir.resolve("dfs").toString());
        MiniDFSCluster cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
        try {
            cluster.waitActive();
            String hdfs = "hdfs://127.0.0.1:" + cluster.getNameNodePort();
            Path weights = FormulaWeights.write(ResNetV2Presets.get("tiny").withClasses(10), dir.resolve("w.npz"));
            Run e = ModelCommandTest.bit("export", "--checkpoint", weights.toString(), "--groups", "4",
                    "--format", "npz", "--output", hdfs + "/models/tiny.npz");
            assertEquals(0, e.code(), e.err());
            assertTrue(cluster.getFileSystem().exists(new org.apache.hadoop.fs.Path("/models/tiny.npz.provenance.json")));
            INDArray expected;
            try (Npz ref = Npz.open(golden("formula_tiny.npz", dir))) {
                writeNpy(dir.resolve("batch.npy"), ref.read("input"));
                expected = ref.read("logits");
            }
            // Provenance beside the file carries the groups, so none are given here.
            Run r = ModelCommandTest.bit("predict", "--checkpoint", hdfs + "/models/tiny.npz",
                    "--input", dir.resolve("batch.npy").toString(), "--output", hdfs + "/out/logits.npy");
            assertEquals(0, r.code(), r.err());
            INDArray logits;
            try (InputStream in = cluster.getFileSystem().open(new org.apache.hadoop.fs.Path("/out/logits.npy"))) {
                logits = Npy.read(in, "hdfs logits");
            }
            double diff = expected.sub(logits).amaxNumber().doubleValue();
            assertTrue(diff < 1e-4, "max logit difference " + diff);
        } finally {
            cluster.shutdown();
        }
    }
}
