package io.bitspark.model.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

import io.bitspark.model.arch.ModelOptions;
import io.bitspark.model.arch.ResNetV2Builder;
import io.bitspark.model.arch.ResNetV2Presets;
import io.bitspark.model.checkpoint.LocalStore;
import io.bitspark.model.checkpoint.ProjectCheckpoint;
import io.bitspark.model.checkpoint.Provenance;
import io.bitspark.model.train.SgdMomentum;

public class RunDirectoryTest {

    static final ComputationGraph NET;

    static {
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        NET = ResNetV2Builder.build(ResNetV2Presets.get("micro"), ModelOptions.defaults()
                .withUpdater(new SgdMomentum(0.1, 0.9)).withInputSize(16, 16).withSeed(3));
    }

    static void checkpoint(RunDirectory run, long step) throws Exception {
        ProjectCheckpoint.write(run.store(), RunDirectory.checkpointDir(step), NET, Provenance.of(Provenance.Kind.PRETRAIN,
                ResNetV2Presets.get("micro")).position(step, 0L).data("sha256:x", null).build(), true);
    }

    /** Flips one byte in the middle of a file: same size, so only a checksum can tell. */
    public static void corrupt(Path file) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            long at = f.length() / 2;
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0x40);
        }
    }

    @Test
    void resumeFallsBackPastACorruptCheckpointOfTheRightSize(@TempDir Path tmp) throws Exception {
        RunDirectory run = new RunDirectory(new LocalStore(tmp));
        checkpoint(run, 2);
        checkpoint(run, 4);
        assertTrue(ProjectCheckpoint.isVerified(run.store(), "checkpoints/step-00000004"), "verified by reading back when written");
        corrupt(tmp.resolve("checkpoints/step-00000004/model.zip"));
        assertTrue(ProjectCheckpoint.isComplete(run.store(), "checkpoints/step-00000004"), "the cheap check is fooled");
        assertEquals(4, run.newestComplete().step());

        RunDirectory.Sound s = run.newestSound();
        assertEquals(2, s.checkpoint().step());
        assertEquals(2, s.provenance().globalStep());
        assertEquals(1, s.setAside().size());
        assertTrue(s.setAside().get(0).contains("step-00000004") && s.setAside().get(0).contains("corrupt"), s.setAside().toString());
        assertEquals(List.of("step-00000002", "step-00000004.corrupt"), run.store().list("checkpoints"));
        // A second corrupt copy of the same step does not collide with the first.
        checkpoint(run, 4);
        corrupt(tmp.resolve("checkpoints/step-00000004/model.zip"));
        assertEquals(2, run.newestSound().checkpoint().step());
        assertEquals(List.of("step-00000002", "step-00000004.corrupt", "step-00000004.corrupt-2"), run.store().list("checkpoints"));
    }

    @Test
    void noSoundCheckpointMeansNull(@TempDir Path tmp) throws Exception {
        RunDirectory run = new RunDirectory(new LocalStore(tmp));
        assertNull(run.newestSound());
        checkpoint(run, 1);
        Files.delete(tmp.resolve("checkpoints/step-00000001/provenance.json"));
        assertNull(run.newestSound());
        assertEquals(List.of("step-00000001.corrupt"), run.store().list("checkpoints"));
    }

    /** Pruning counts only checkpoints verified when written: one that lost its mark (or never had it) keeps older ones alive. */
    @Test
    void pruneKeepsTheNewestVerifiedCheckpoints(@TempDir Path tmp) throws Exception {
        RunDirectory run = new RunDirectory(new LocalStore(tmp));
        for (long s = 1; s <= 4; s++) {
            checkpoint(run, s);
        }
        Files.createDirectories(tmp.resolve("checkpoints/step-00000000.corrupt"));
        Files.delete(tmp.resolve("checkpoints/step-00000004/verified.json"));
        run.prune(2);
        assertEquals(List.of("step-00000002", "step-00000003", "step-00000004"), run.store().list("checkpoints"),
                "step 4 is unverified, so 2 and 3 are the two kept");
        checkpoint(run, 5);
        run.prune(2);
        assertEquals(List.of("step-00000003", "step-00000004", "step-00000005"), run.store().list("checkpoints"));
        run.prune(1);
        assertEquals(List.of("step-00000005"), run.store().list("checkpoints"));
        assertFalse(run.hasCheckpoints() && run.checkpoints().size() != 1);
    }
}
