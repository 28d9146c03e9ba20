package io.bitspark.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.bitspark.data.SparkTestSession;
import io.bitspark.jobs.cli.ModelCommandTest.Run;
import io.bitspark.model.checkpoint.BitNpz;

/**
 * The commands a user runs, on real images: Fashion-MNIST (6 classes) from the Debian package -> prepare ->
 * pretrain with the local preset -> export .npz. The holdout top-1 must be well above chance (1/6).
 */
class FashionMnistPretrainTest {

    @BeforeAll
    static void spark() {
        SparkTestSession.get();
    }

    @Test
    void localPresetLearnsFashionMnistAndExports(@TempDir Path tmp) throws Exception {
        Run fm = ModelCommandTest.bit("fashion-mnist", "--output", tmp.resolve("fm").toString(), "--split", "train",
                "--classes", "0-5", "--per-class", "300");
        assertEquals(0, fm.code(), fm.err());
        Run prep = ModelCommandTest.bit("prepare", "--input", tmp.resolve("fm/train").toString(), "--format", "imagefolder",
                "--output", tmp.resolve("ds").toString(), "--holdout", "0.1", "--shard-size-mb", "0.5");
        assertEquals(0, prep.code(), prep.err());
        Run info = ModelCommandTest.bit("info", tmp.resolve("ds").toString());
        assertTrue(info.out().contains("inputs 1,800 = written 1,800 + rejected 0"), info.out());

        Run pre = ModelCommandTest.bit("pretrain", "--preset", "local", "--data", tmp.resolve("ds").toString(),
                "--output", tmp.resolve("run").toString(), "--set", "train.epochs=3", "--set", "eval.every_steps=40");
        assertEquals(0, pre.code(), pre.err());
        Path metrics;
        try (var s = Files.list(tmp.resolve("run/metrics"))) {
            metrics = s.findFirst().orElseThrow();
        }
        List<String> lines = Files.readAllLines(metrics);
        @SuppressWarnings("unchecked")
        Map<String, Object> last = new ObjectMapper().readValue(lines.get(lines.size() - 1), Map.class);
        double top1 = ((Number) last.get("holdout_top1")).doubleValue();
        assertTrue(top1 > 0.5, "holdout top-1 " + top1 + " (chance 0.167): " + last);
        assertTrue(((Number) last.get("loss")).doubleValue() < 1.5, last.toString());

        String ckpt;
        try (var s = Files.list(tmp.resolve("run/checkpoints"))) {
            ckpt = s.sorted().reduce((a, b) -> b).orElseThrow().toString();
        }
        Run exp = ModelCommandTest.bit("export", "--checkpoint", ckpt, "--format", "npz", "--output",
                tmp.resolve("model.npz").toString());
        assertEquals(0, exp.code(), exp.err());
        BitNpz.Imported back = BitNpz.load(tmp.resolve("model.npz"), BitNpz.ImportOptions.defaults().withGroups(4));
        assertEquals(6, back.spec().numClasses());
        Run npzInfo = ModelCommandTest.bit("info", tmp.resolve("model.npz").toString());
        assertTrue(npzInfo.out().contains("architecture: tiny") && npzInfo.out().contains("kind: export"), npzInfo.out());
    }
}
