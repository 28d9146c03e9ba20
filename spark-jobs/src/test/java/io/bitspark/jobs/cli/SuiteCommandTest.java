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

import io.bitspark.jobs.cli.ModelCommandTest.Run;
import io.bitspark.data.SparkTestSession;
import io.bitspark.jobs.report.BrowserCheck;

/**
 * {@code bit suite-data} then {@code bit suite} on real images: every task of the local suite runs with one rule
 * from the same checkpoint and from random initialisation, with the 800/200-style selection; a task whose data
 * is missing is reported as failed while the others complete; the page loads in headless Chromium when present.
 */
class SuiteCommandTest {

    @BeforeAll
    static void spark() {
        SparkTestSession.get();
        System.setProperty("java.awt.headless", "true");
    }

    @Test
    void everyTaskRunsWithOneRuleAndAFailedTaskIsReportedNotFatal(@TempDir Path tmp) throws Exception {
        Path npz = io.bitspark.model.checkpoint.FormulaWeights.write(io.bitspark.model.arch.ResNetV2Presets.get("tiny"),
                tmp.resolve("BiT-tiny.npz"));
        Run data = ModelCommandTest.bit("suite-data", "--output", tmp.resolve("s").toString(), "--train", "40", "--test", "24");
        assertEquals(0, data.code(), data.err());
        assertTrue(data.out().contains("rotation/train: 40 images") && data.out().contains("nature-patches/test: 24 images"), data.out());
        Run info = ModelCommandTest.bit("info", tmp.resolve("s/data/location/train").toString());
        assertTrue(info.out().contains("inputs 40 = written 40 + rejected 0") && info.out().contains("classes: 9"), info.out());

        Path conf = tmp.resolve("s/suite.conf");
        String text = Files.readString(conf);
        assertTrue(text.contains("name = rotation, group = structured") && text.contains("flip = false"), text);
        Files.writeString(conf, text.replace("  ]\n}", "    { name = missing, group = natural, train = data/none/train, test = data/none/test }\n  ]\n}"));

        Run suite = ModelCommandTest.bit("suite", "--checkpoint", npz.toString(), "--groups", "4", "--suite", conf.toString(),
                "--init", "pretrained,random", "--steps", "5", "--batch", "8", "--select", "--output", tmp.resolve("out").toString());
        assertEquals(1, suite.code(), "a failed task makes the exit code 1: " + suite.out() + suite.err());
        String out = suite.out();
        for (String task : List.of("fashion-unseen", "nature-patches", "rotation", "count", "location")) {
            assertTrue(out.matches("(?s).*\\| \\w+ \\| " + task + " \\| \\d+ \\| 40 \\| 24 \\| 0\\.\\d{3} \\| 0\\.\\d{3} \\|.*"), task + ":\n" + out);
        }
        assertTrue(out.contains("| natural | missing | 0 | 0 | 0 | failed | failed |"), out);
        assertTrue(out.contains("(5 of 6 tasks)") && out.contains("| structured | mean |"), out);
        assertTrue(out.contains("failed: missing (pretrained): IllegalArgumentException: ") && out.contains("data/none/train"), out);

        Map<String, Object> json = new ObjectMapper().readValue(tmp.resolve("out/suite.json").toFile(),
                new com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>>() {});
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> tasks = (List<Map<String, Object>>) json.get("tasks");
        assertEquals(12, tasks.size());
        Map<String, Object> rotation = tasks.stream().filter(t -> t.get("task").equals("rotation") && t.get("init").equals("random"))
                .findFirst().orElseThrow();
        @SuppressWarnings("unchecked")
        Map<String, Object> settings = (Map<String, Object>) rotation.get("settings");
        assertEquals(false, settings.get("flip"));
        assertEquals(4, ((Number) rotation.get("classes")).intValue());
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> selection = (List<Map<String, Object>>) rotation.get("selection");
        assertEquals(List.of(0.001, 0.003, 0.01), selection.stream().map(r -> ((Number) r.get("lr")).doubleValue()).toList());
        assertTrue(List.of(0.001, 0.003, 0.01).contains(((Number) settings.get("base_lr")).doubleValue()), settings.toString());

        String html = Files.readString(tmp.resolve("out/report/index.html"));
        assertTrue(html.contains("src=\"suite.png\"") && html.contains("<th>all</th><th>mean</th>"), html);
        assertEquals(900, javax.imageio.ImageIO.read(tmp.resolve("out/report/suite.png").toFile()).getWidth());
        if (BrowserCheck.chromium() != null) {
            BrowserCheck.Result r = BrowserCheck.check(tmp.resolve("out/report/index.html"));
            assertTrue(r.ok() && r.images() == 1, r.toString());
        }
    }
}
