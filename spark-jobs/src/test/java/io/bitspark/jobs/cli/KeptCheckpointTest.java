package io.bitspark.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.ndarray.INDArray;

import io.bitspark.jobs.BitMain;
import io.bitspark.model.checkpoint.LocalStore;
import io.bitspark.model.checkpoint.ProjectCheckpoint;
import io.bitspark.model.io.Npy;

/**
 * Checkpoints written by earlier releases (src/test/resources/compat/VERSION/, made by make_kept_checkpoint.sh
 * there) keep loading: the model file matches its provenance, the optimizer state comes back for a resume, and
 * {@code bit predict} gives the logits that release gave for the same input.
 */
class KeptCheckpointTest {

    static List<Path> kept() throws Exception {
        Path root = Path.of(KeptCheckpointTest.class.getResource("/compat").toURI());
        try (Stream<Path> s = Files.list(root)) {
            List<Path> dirs = s.filter(Files::isDirectory).sorted().toList();
            assertFalse(dirs.isEmpty(), "no kept checkpoint under " + root);
            return dirs;
        }
    }

    @ParameterizedTest(name = "release {0}")
    @MethodSource("kept")
    void loadsAndPredictsTheSameLogits(Path release, @TempDir Path tmp) throws Exception {
        Path checkpoint = release.resolve("checkpoint");
        ProjectCheckpoint.Loaded loaded = ProjectCheckpoint.read(new LocalStore(checkpoint), "", true);
        assertEquals(io.bitspark.model.checkpoint.Provenance.Kind.PRETRAIN, loaded.provenance().kind());
        assertTrue(loaded.provenance().globalStep() > 0, "global step " + loaded.provenance().globalStep());
        assertNotNull(loaded.net().getUpdater(false), "optimizer state for a resume");
        assertEquals(loaded.net().numParams(), loaded.net().getUpdater(false).getStateViewArray().length(),
                "one momentum value per parameter");

        Path out = tmp.resolve("logits.npy");
        StringWriter o = new StringWriter();
        StringWriter e = new StringWriter();
        int rc = BitMain.run(new PrintWriter(o, true), new PrintWriter(e, true), "predict", "--checkpoint", checkpoint.toString(),
                "--input", release.resolve("input.npy").toString(), "--output", out.toString(), "--batch-size", "4");
        assertEquals(0, rc, o + "\n" + e);
        float[] now = read(out).data().asFloat();
        float[] then = read(release.resolve("logits.npy")).data().asFloat();
        assertEquals(then.length, now.length);
        assertArrayEquals(then, now, 2e-5f, release.getFileName() + ": logits of the kept checkpoint changed");
        assertEquals(loaded.provenance().classNames().size(), read(out).size(1));
    }

    private static INDArray read(Path p) throws Exception {
        try (InputStream in = Files.newInputStream(p)) {
            return Npy.read(in, p.toString());
        }
    }
}
