package io.bitspark.jobs.suite;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class SuiteReportTest {

    private static SuiteRunner.TaskResult ok(String task, String group, String init, double top1) {
        return new SuiteRunner.TaskResult(task, group, init, "ok", top1, 1.0, 1000, 500, 4, Map.of(), List.of(), 1.0, "h", null);
    }

    @Test
    void meansPerGroupAndOverallLeaveFailedTasksOutAndSaySo() {
        List<SuiteRunner.TaskResult> rs = List.of(
                ok("a", "natural", "pretrained", 0.9), ok("b", "natural", "pretrained", 0.7), ok("c", "structured", "pretrained", 0.5),
                ok("a", "natural", "random", 0.6),
                new SuiteRunner.TaskResult("b", "natural", "random", "failed", null, null, 0, 0, 0, Map.of(), List.of(), 0.1, "h",
                        "IllegalArgumentException: no data"),
                ok("c", "structured", "random", 0.3));
        Map<String, Map<String, SuiteReport.Mean>> m = SuiteReport.means(rs);
        assertEquals(0.8, m.get("pretrained").get("natural").top1(), 1e-12);
        assertEquals(0.7, m.get("pretrained").get("all").top1(), 1e-12);
        assertEquals(new SuiteReport.Mean(0.6, 1, 2), m.get("random").get("natural"));
        assertEquals(0.45, m.get("random").get("all").top1(), 1e-12);
        assertEquals(2, m.get("random").get("all").tasks());
        String t = SuiteReport.table(rs);
        assertTrue(t.contains("| natural | b | 4 | 1000 | 500 | 0.700 | failed |"), t);
        assertTrue(t.contains("| **all** | **mean** | | | | **0.700** | **0.450** (2 of 3 tasks) |"), t);
        assertTrue(t.contains("failed: b (random): IllegalArgumentException: no data"), t);
    }
}
