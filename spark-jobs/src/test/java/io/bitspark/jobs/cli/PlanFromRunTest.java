package io.bitspark.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.bitspark.data.SparkTestSession;
import io.bitspark.jobs.cli.ModelCommandTest.Run;

/** {@code bit plan --from-run}: constants fitted to a real (local, 2-worker) pre-training run, then reused for other questions. */
class PlanFromRunTest {

    private static final Pattern FITTED = Pattern.compile("medians of \\d+ steady intervals\\): step ([0-9.]+) s");
    private static final Pattern STEP = Pattern.compile("(?m)^step: ([0-9.]+) s = compute ([0-9.]+) \\+ data ([0-9.]+) \\+ exchange ([0-9.]+)");

    @TempDir
    static Path tmp;

    @BeforeAll
    static void spark() {
        SparkTestSession.get();
    }

    @Test
    void fittedConstantsReproduceTheRunAndAnswerOtherQuestions() throws Exception {
        assertEquals(0, ModelCommandTest.bit("fashion-mnist", "--output", tmp.resolve("fm").toString(), "--split", "train", "--classes",
                "0-2", "--per-class", "60").code());
        assertEquals(0, ModelCommandTest.bit("prepare", "--input", tmp.resolve("fm/train").toString(), "--format", "imagefolder",
                "--output", tmp.resolve("ds").toString(), "--holdout", "0").code());
        Run pre = ModelCommandTest.bit("pretrain", "--preset", "local", "--data", tmp.resolve("ds").toString(), "--output",
                tmp.resolve("run").toString(), "--set", "model.preset=micro", "--set", "data.resolution=16", "--set", "train.workers=2",
                "--set", "train.global_batch=16", "--set", "train.max_steps=30", "--set", "log.every_steps=5", "--set", "eval.every_steps=1000",
                "--set", "checkpoint.every_steps=1000");
        assertEquals(0, pre.code(), pre.err());

        Run same = ModelCommandTest.bit("plan", "--from-run", tmp.resolve("run").toString(), "--link-gbps", "10");
        assertEquals(0, same.code(), same.err());
        Matcher f = FITTED.matcher(same.out());
        Matcher s = STEP.matcher(same.out());
        assertTrue(f.find() && s.find(), same.out());
        double measured = Double.parseDouble(f.group(1));
        double predicted = Double.parseDouble(s.group(1));
        // The same question: the parts are the run's own medians, so their sum is near the median step.
        assertEquals(measured, predicted, 0.25 * measured, same.out());
        assertTrue(same.out().contains("2 executors x fitted") && same.out().contains("global batch 16 (8 per executor)"), same.out());

        // Another question on the fitted constants: 4 executors share the same global batch, so compute per step halves.
        Run four = ModelCommandTest.bit("plan", "--from-run", tmp.resolve("run").toString(), "--link-gbps", "10", "--executors", "4");
        assertEquals(0, four.code(), four.err());
        Matcher s4 = STEP.matcher(four.out());
        assertTrue(s4.find(), four.out());
        assertEquals(Double.parseDouble(s.group(2)) / 2, Double.parseDouble(s4.group(2)), 0.002, four.out());
        assertEquals(Double.parseDouble(s.group(3)) / 2, Double.parseDouble(s4.group(3)), 0.002, four.out());

        Files.createDirectories(tmp.resolve("empty"));
        Run none = ModelCommandTest.bit("plan", "--from-run", tmp.resolve("empty").toString());
        assertEquals(1, none.code(), none.out() + none.err());
        assertTrue(none.err().contains("no complete checkpoint"), none.err());
    }
}
