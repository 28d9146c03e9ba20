package io.bitspark.jobs.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.bitspark.model.checkpoint.LocalStore;
import io.bitspark.model.run.MetricsLog;

/**
 * The report page in a real headless Chromium. Runs where Chromium is installed; with {@code BIT_REQUIRE_CHROMIUM=1}
 * (set by {@code .ci/run}, which installs it) a missing browser fails instead of skipping.
 */
class BrowserCheckTest {

    @BeforeAll
    static void browser() {
        System.setProperty("java.awt.headless", "true");
        boolean required = "1".equals(System.getenv("BIT_REQUIRE_CHROMIUM"));
        if (required) {
            assertTrue(BrowserCheck.chromium() != null, "BIT_REQUIRE_CHROMIUM=1 but no chromium on the PATH");
        }
        assumeTrue(BrowserCheck.chromium() != null, "headless Chromium is not installed");
    }

    private static Path run(Path tmp) throws Exception {
        return run(tmp, "run", 2.0);
    }

    private static Path run(Path tmp, String name, double scale) throws Exception {
        Path run = tmp.resolve(name);
        LocalStore store = new LocalStore(run);
        try (MetricsLog log = MetricsLog.open(store, 0, 1)) {
            for (int s = 1; s <= 20; s++) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("step", s);
                r.put("loss", scale / s);
                r.put("loss_last", 1.05 * scale / s);
                r.put("lr", 0.01 * Math.min(1, s / 5.0));
                r.put("images_per_sec", 100 + s);
                if (s % 10 == 0) {
                    r.put("holdout_top1", 0.3 + s / 100.0);
                }
                log.add(r);
            }
        }
        StringBuilder rows = new StringBuilder("[");
        for (String init : new String[] {"pre-trained", "random"}) {
            for (int k : new int[] {1, 5, 10}) {
                for (int seed = 0; seed < 3; seed++) {
                    double base = (init.equals("random") ? 0.3 : 0.5) + 0.02 * k + 0.01 * seed;
                    rows.append(rows.length() > 1 ? "," : "").append(String.format(java.util.Locale.ROOT,
                            "{\"init\": \"%s\", \"shots\": %d, \"seed\": %d, \"fineTuneTop1\": %.3f, \"probeTop1\": %.3f}",
                            init, k, seed, base, base - 0.05));
                }
            }
        }
        Files.writeString(run.resolve("fewshot.json"), rows.append("]").toString());
        RunReport.write(store);
        return run.resolve("report/index.html");
    }

    @Test
    void everyImageOfTheReportLoadsAndTheScreenshotIsWritten(@TempDir Path tmp) throws Exception {
        Path page = run(tmp);
        BrowserCheck.Result r = BrowserCheck.check(page);
        assertTrue(r.ok(), r.problems().toString());
        assertTrue(r.images() >= 4, "images: " + r.images());
        var shot = ImageIO.read(r.screenshot().toFile());
        assertEquals(1400, shot.getWidth(), "the screenshot is a decodable PNG of the window's width");
        try (var files = Files.list(page.getParent())) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().startsWith(".bit-check-")), "the probe page is removed");
        }
    }

    @Test
    void aMissingOrUndecodableImageIsNamed(@TempDir Path tmp) throws Exception {
        Path page = run(tmp);
        Files.delete(page.resolveSibling("lr.png"));
        Files.write(page.resolveSibling("loss.png"), new byte[] {1, 2, 3, 4});
        BrowserCheck.Result r = BrowserCheck.check(page);
        assertFalse(r.ok());
        assertTrue(r.problems().stream().anyMatch(p -> p.startsWith("image lr.png: no such file")), r.problems().toString());
        assertTrue(r.problems().stream().anyMatch(p -> p.equals("image loss.png: the browser could not load or decode it")),
                r.problems().toString());
    }

    @Test
    void runsOverlaidOnOnePage(@TempDir Path tmp) throws Exception {
        run(tmp, "lr-0.01", 2.0);
        run(tmp, "lr-0.03", 3.0);
        String uri = RunReport.compare(List.of(new LocalStore(tmp.resolve("lr-0.01")), new LocalStore(tmp.resolve("lr-0.03"))),
                List.of("lr-0.01", "lr-0.03"), new LocalStore(tmp.resolve("compare")));
        Path page = Path.of(java.net.URI.create(uri));
        String html = Files.readString(page);
        assertTrue(html.contains("<th>lr-0.01</th><th>lr-0.03</th>") && html.contains("src=\"loss.png\"")
                && html.contains("src=\"holdout_top1.png\""), html);
        assertTrue(html.contains("<tr><th>last loss</th><td>0.1000</td><td>0.1500</td></tr>"), html);
        BrowserCheck.Result r = BrowserCheck.check(page);
        assertTrue(r.ok(), r.problems().toString());
        assertEquals(4, r.images(), "loss, holdout top1, lr and images/s");
    }
}
