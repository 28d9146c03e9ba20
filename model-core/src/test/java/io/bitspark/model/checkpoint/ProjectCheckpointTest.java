package io.bitspark.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
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
import io.bitspark.model.arch.ResNetV2Spec;
import io.bitspark.model.train.SgdMomentum;
import io.bitspark.build.BuildInfo;

class ProjectCheckpointTest {

    private static ComputationGraph tiny() {
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        return ResNetV2Builder.build(ResNetV2Presets.get("tiny"), ModelOptions.defaults()
                .withUpdater(new SgdMomentum(0.1, 0.9)).withInputSize(32, 32).withSeed(3));
    }

    private static Provenance provenance(ResNetV2Spec spec) {
        return Provenance.of(Provenance.Kind.PRETRAIN, spec).config(Map.of("train.batch", 8, "optim.lr", 0.1)).seed(42L)
                .position(17L, 2L).data("sha256:abc", List.of("a", "b")).build();
    }

    @Test
    void roundTripKeepsParametersAndProvenance(@TempDir Path dir) throws Exception {
        ComputationGraph net = tiny();
        LocalStore store = new LocalStore(dir);
        ResNetV2Spec spec = ResNetV2Presets.get("tiny");
        Provenance written = ProjectCheckpoint.write(store, "ckpt/step-17", net, provenance(spec), true);
        assertTrue(ProjectCheckpoint.isComplete(store, "ckpt/step-17"));
        assertEquals(Files.size(dir.resolve("ckpt/step-17/model.zip")), written.files().get("model.zip").bytes());

        ProjectCheckpoint.Loaded loaded = ProjectCheckpoint.read(store, "ckpt/step-17", true);
        assertEquals(net.params(), loaded.net().params());
        Provenance p = loaded.provenance();
        assertEquals(spec, p.spec());
        assertEquals(42L, p.seed());
        assertEquals(17L, p.globalStep());
        assertEquals(2L, p.epoch());
        assertEquals("sha256:abc", p.dataManifestHash());
        assertEquals(List.of("a", "b"), p.classNames());
        assertEquals(8, ((Number) p.config().get("train.batch")).intValue());
        assertEquals(BuildInfo.codeVersion(), p.codeVersion());
        assertTrue(p.libraries().get("deeplearning4j").startsWith("1.0.0"), p.libraries().toString());
        assertTrue(p.createdAt().matches("\\d{4}-\\d\\d-\\d\\dT.*Z"), p.createdAt());
    }

    @Test
    void aCheckpointWithoutProvenanceIsIncomplete(@TempDir Path dir) throws Exception {
        LocalStore store = new LocalStore(dir);
        ProjectCheckpoint.write(store, "c", tiny(), provenance(ResNetV2Presets.get("tiny")), false);
        Files.delete(dir.resolve("c/provenance.json"));
        assertFalse(ProjectCheckpoint.isComplete(store, "c"));
        IOException e = assertThrows(IOException.class, () -> ProjectCheckpoint.read(store, "c", false));
        assertTrue(e.getMessage().contains("not a complete checkpoint"), e.getMessage());
    }

    @Test
    void aCorruptedModelFileIsDetected(@TempDir Path dir) throws Exception {
        LocalStore store = new LocalStore(dir);
        ProjectCheckpoint.write(store, "c", tiny(), provenance(ResNetV2Presets.get("tiny")), true);
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("c/model.zip").toFile(), "rw")) {
            f.seek(f.length() / 2);
            int b = f.read();
            f.seek(f.length() / 2);
            f.write(b ^ 0xff);
        }
        assertTrue(ProjectCheckpoint.isComplete(store, "c"), "same size, so the cheap check passes");
        IOException e = assertThrows(IOException.class, () -> ProjectCheckpoint.read(store, "c", true));
        assertTrue(e.getMessage().contains("corrupt") && e.getMessage().contains("sha256"), e.getMessage());
    }

    @Test
    void truncatedModelFileMakesTheCheckpointIncomplete(@TempDir Path dir) throws Exception {
        LocalStore store = new LocalStore(dir);
        ProjectCheckpoint.write(store, "c", tiny(), provenance(ResNetV2Presets.get("tiny")), true);
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("c/model.zip").toFile(), "rw")) {
            f.setLength(f.length() - 100);
        }
        assertFalse(ProjectCheckpoint.isComplete(store, "c"));
    }
}
