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
 * pretrain with the local preset -> export .npz -> few-shot transfer to the 4 other classes. The holdout top-1
 * must be well above chance (1/6), and the pre-trained network must beat random initialisation at 1, 5 and
 * 10 shots (medians over 3 seeds), by fine-tuning and by linear probe: the BiT effect.
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

        // The 4 classes pre-training never sees: few-shot data for the upstream evaluator and for `fewshot`.
        assertEquals(0, ModelCommandTest.bit("fashion-mnist", "--output", tmp.resolve("fm4").toString(), "--split", "train,test",
                "--classes", "6-9", "--per-class", "60").code());
        assertEquals(0, ModelCommandTest.bit("prepare", "--input", tmp.resolve("fm4/train").toString(), "--format", "imagefolder",
                "--output", tmp.resolve("ds4").toString(), "--holdout", "0").code());
        assertEquals(0, ModelCommandTest.bit("prepare", "--input", tmp.resolve("fm4/test").toString(), "--format", "imagefolder",
                "--output", tmp.resolve("test4").toString(), "--holdout", "0").code());

        Run pre = ModelCommandTest.bit("pretrain", "--preset", "local", "--data", tmp.resolve("ds").toString(),
                "--output", tmp.resolve("run").toString(), "--set", "train.epochs=3", "--set", "eval.every_steps=40",
                "--set", "eval.fewshot.every_steps=15", "--set", "eval.fewshot.shots=[1,5,10]", "--set",
                "eval.fewshot.data=[{name=fm4, train=\"" + tmp.resolve("ds4") + "\", test=\"" + tmp.resolve("test4") + "\"}]");
        assertEquals(0, pre.code(), pre.err());
        List<Map<String, Object>> history = io.bitspark.model.run.MetricsLog.history(new io.bitspark.model.checkpoint.LocalStore(tmp.resolve("run")));
        Map<String, Object> last = history.get(history.size() - 1);
        // The upstream few-shot evaluator: at step 0 (initialisation), every 15 steps and at the end, rising over the run.
        List<Map<String, Object>> fewshot = history.stream().filter(r -> r.containsKey("fewshot_fm4_10shot")).toList();
        assertEquals(List.of(0L, 15L, 30L, 45L, 60L, 72L), fewshot.stream().map(r -> ((Number) r.get("step")).longValue()).toList());
        double first = (num(fewshot.get(0), "fewshot_5shot") + num(fewshot.get(0), "fewshot_10shot")) / 2;
        double end = (num(last, "fewshot_5shot") + num(last, "fewshot_10shot")) / 2;
        assertTrue(end > first + 0.1, "few-shot probe accuracy (5 and 10 shots) from " + first + " at initialisation to " + end
                + " at the end: " + fewshot);
        double top1 = ((Number) last.get("holdout_top1")).doubleValue();
        assertTrue(top1 > 0.5, "holdout top-1 " + top1 + " (chance 0.167): " + last);
        assertTrue(((Number) last.get("loss")).doubleValue() < 1.5, last.toString());

        String ckpt;
        try (var s = Files.list(tmp.resolve("run/checkpoints"))) {
            ckpt = s.sorted().reduce((a, b) -> b).orElseThrow().toString();
        }
        Run ev = ModelCommandTest.bit("evaluate", "--checkpoint", ckpt, "--data", tmp.resolve("ds").toString(),
                "--resolution", "32");
        assertEquals(0, ev.code(), ev.err());
        assertTrue(ev.out().contains(String.format(java.util.Locale.ROOT, "top1 = %.4f", top1)), ev.out() + " vs " + top1);
        assertTrue(ev.out().contains("most frequent confusions"), ev.out());
        Run exp = ModelCommandTest.bit("export", "--checkpoint", ckpt, "--format", "npz", "--output",
                tmp.resolve("model.npz").toString());
        assertEquals(0, exp.code(), exp.err());
        BitNpz.Imported back = BitNpz.load(tmp.resolve("model.npz"), BitNpz.ImportOptions.defaults().withGroups(4));
        assertEquals(6, back.spec().numClasses());
        Run npzInfo = ModelCommandTest.bit("info", tmp.resolve("model.npz").toString());
        assertTrue(npzInfo.out().contains("architecture: tiny") && npzInfo.out().contains("kind: export"), npzInfo.out());

        // Few-shot transfer to the 4 classes pre-training never saw, evaluated on the test split.
        Run fs = ModelCommandTest.bit("fewshot", "--checkpoint", tmp.resolve("model.npz").toString(), "--data",
                tmp.resolve("ds4").toString(), "--eval-data", tmp.resolve("test4").toString(), "--eval-max", "200",
                "--shots", "1,5,10", "--seeds", "3", "--compare-random", "--steps", "30", "--batch", "32",
                "--resize", "40", "--crop", "32", "--output", tmp.resolve("fewshot").toString());
        assertEquals(0, fs.code(), fs.err());
        List<Map<String, Object>> rows = new ObjectMapper().readValue(tmp.resolve("fewshot/fewshot.json").toFile(),
                new com.fasterxml.jackson.core.type.TypeReference<List<Map<String, Object>>>() {});
        assertEquals(18, rows.size());
        Files.copy(tmp.resolve("fewshot/fewshot.json"), tmp.resolve("run/fewshot.json"));
        Run report = ModelCommandTest.bit("report", tmp.resolve("run").toString());
        assertEquals(0, report.code(), report.err());
        String html = Files.readString(tmp.resolve("run/report/index.html"));
        assertTrue(html.contains("<th>global batch</th><td>64 (2 workers x 32)</td>") && html.contains("<th>steps</th><td>72 of 72"),
                "the run's table: " + html);
        for (String png : new String[] {"loss.png", "lr.png", "throughput.png", "holdout_top1.png", "fewshot_steps.png", "fewshot.png"}) {
            assertTrue(html.contains("src=\"" + png + "\""), png + " missing from the page");
            java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(tmp.resolve("run/report/" + png).toFile());
            assertTrue(img != null && img.getWidth() == 800, png);
        }
        for (int k : new int[] {1, 5, 10}) {
            for (String metric : new String[] {"fineTuneTop1", "probeTop1"}) {
                double pretrained = median(rows, "pretrained", k, metric);
                double rnd = median(rows, "random", k, metric);
                assertTrue(pretrained > rnd, metric + " at " + k + " shots: pre-trained " + pretrained + " vs random " + rnd + "\n" + fs.out());
            }
        }
    }

    static double num(Map<String, Object> r, String key) {
        return ((Number) r.get(key)).doubleValue();
    }

    /** An official-layout .npz (no provenance beside it) fine-tunes with the HyperRule, no conversion step. */
    @Test
    void anOfficialNpzFineTunesWithoutConversion(@TempDir Path tmp) throws Exception {
        Path npz = io.bitspark.model.checkpoint.FormulaWeights.write(io.bitspark.model.arch.ResNetV2Presets.get("tiny"),
                tmp.resolve("BiT-tiny.npz"));
        assertEquals(0, ModelCommandTest.bit("fashion-mnist", "--output", tmp.resolve("fm").toString(), "--split", "train",
                "--classes", "6-9", "--per-class", "30").code());
        assertEquals(0, ModelCommandTest.bit("prepare", "--input", tmp.resolve("fm/train").toString(), "--format", "imagefolder",
                "--output", tmp.resolve("ds").toString(), "--holdout", "0.2").code());
        Run ft = ModelCommandTest.bit("finetune", "--checkpoint", npz.toString(), "--groups", "4", "--data",
                tmp.resolve("ds").toString(), "--steps", "20", "--batch", "16", "--micro-batch", "8", "--resize", "40",
                "--crop", "32", "--output", tmp.resolve("ft").toString());
        assertEquals(0, ft.code(), ft.err());
        assertTrue(ft.out().contains("for 20 steps: eval top-1"), ft.out());
        Run info = ModelCommandTest.bit("info", tmp.resolve("ft").toString());
        assertTrue(info.out().contains("kind: finetune") && info.out().contains("4 classes")
                && info.out().contains("made from: ") && info.out().contains("BiT-tiny.npz"), info.out());
    }

    static double median(List<Map<String, Object>> rows, String init, int k, String metric) {
        double[] v = rows.stream().filter(r -> init.equals(r.get("init")) && ((Number) r.get("shots")).intValue() == k)
                .mapToDouble(r -> ((Number) r.get(metric)).doubleValue()).toArray();
        return io.bitspark.model.stats.Stats.median(v);
    }
}
