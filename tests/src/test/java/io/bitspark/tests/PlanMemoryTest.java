package io.bitspark.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.bitspark.jobs.plan.Devices;
import io.bitspark.jobs.plan.Planner;

/**
 * bit plan's memory per process against a measured peak: {@code bin/bit bench} of R50x1 in a fresh process (its
 * high-water mark). The planner's activation constants were fitted at 128 px; 224 px is a prediction. Slow
 * (a minute per point): {@code mvn -B verify -Pslow -pl tests -Dtest=PlanMemoryTest}.
 */
@Tag("slow")
class PlanMemoryTest {

    private static final Pattern PEAK = Pattern.compile("peak resident memory: ([0-9.]+) GiB");

    @ParameterizedTest(name = "R50x1 at {0} px, micro-batch {1}")
    @CsvSource({"224, 4", "224, 8", "128, 8", "128, 16"})
    void predictedPeakMemoryIsWithinTwentyPercent(int resolution, int micro, @TempDir Path tmp) throws Exception {
        Path root = Path.of("..").toAbsolutePath().normalize();
        Path log = tmp.resolve("bench.log");
        Process p = new ProcessBuilder(root.resolve("bin/bit").toString(), "bench", "--preset", "r50x1", "--resolution",
                String.valueOf(resolution), "--batch", String.valueOf(micro), "--warmup", "1", "--warmup-seconds", "0", "--steps", "2")
                .directory(root.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(10, TimeUnit.MINUTES), "bench timed out");
        String out = Files.readString(log);
        assertEquals(0, p.exitValue(), out);
        Matcher m = PEAK.matcher(out);
        assertTrue(m.find(), out);
        double measured = Double.parseDouble(m.group(1));
        // bit bench trains one process with the preset's 1000-class head: one executor, the micro-batch as its batch.
        Planner.Plan plan = Planner.plan(new Planner.Question("r50x1", 1000, resolution, 1000, 1, 1, Devices.get("cpu"), 10, micro,
                micro, 1), Planner.Constants.MEASURED);
        double predicted = plan.memoryBytes() / (double) (1L << 30);
        org.slf4j.LoggerFactory.getLogger(PlanMemoryTest.class).info("R50x1 {} px micro-batch {}: predicted {} GiB, measured {} GiB",
                resolution, micro, predicted, measured);
        assertEquals(measured, predicted, 0.2 * measured, "predicted " + predicted + " GiB vs measured " + measured + " GiB");
    }
}
