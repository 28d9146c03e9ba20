package io.bitspark.jobs.suite;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SuiteSpecTest {

    @Test
    void readsTasksOverridesAndGridWithPathsRelativeToTheFile(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("s/suite.conf");
        Files.createDirectories(f.getParent());
        Files.writeString(f, """
                suite {
                  name = mine
                  transfer { steps = 50, batch = 16, crop = 32, resize = 40 }
                  select { lr = [0.001, 0.01], steps = [20, 40] }
                  tasks = [
                    { name = a, group = natural, train = data/a/train, test = /abs/a-test }
                    { name = b, group = structured, train = "s3a://bucket/b/train", test = data/b/test, flip = false, test_max = 100 }
                  ]
                }
                """);
        SuiteSpec s = SuiteSpec.load(f.toString());
        assertEquals("mine", s.name());
        assertEquals(new SuiteSpec.Overrides(50L, null, 16, null, 40, 32, null), s.transfer());
        assertEquals(List.of(0.001, 0.01), s.select().lr());
        assertEquals(List.of(20L, 40L), s.select().steps());
        SuiteSpec.Task a = s.tasks().get(0);
        assertTrue(a.train().endsWith("/s/data/a/train") && a.train().startsWith("file:"), a.train());
        assertEquals("/abs/a-test", a.test());
        assertTrue(a.flip());
        SuiteSpec.Task b = s.tasks().get(1);
        assertEquals("s3a://bucket/b/train", b.train());
        assertFalse(b.flip());
        assertEquals(100, b.testMax());
        // Every lr with every step count, in order; the suite's overrides underneath.
        List<SuiteSpec.Overrides> grid = SuiteRunner.grid(s.select());
        assertEquals(4, grid.size());
        assertEquals(new SuiteSpec.Overrides(40L, 0.001, 16, null, 40, 32, null), s.transfer().then(grid.get(2)));
    }

    @Test
    void mistakesNameTheTaskAndTheField(@TempDir Path tmp) throws Exception {
        assertEquals("suite.tasks[1] (b) has no 'test'", error(tmp, "{ name = a, group = g, train = x, test = y }, { name = b, group = g, train = x }"));
        assertEquals("unknown key 'flp' in suite.tasks[0] (a) (known: flip, group, name, test, test_max, train, train_max)",
                error(tmp, "{ name = a, group = g, train = x, test = y, flp = false }"));
        assertEquals("suite.tasks[1] (a): a task named 'a' comes earlier",
                error(tmp, "{ name = a, group = g, train = x, test = y }, { name = a, group = h, train = x, test = y }"));
        assertEquals("suite.tasks[0] (../a): name must be letters, digits, '.', '_' or '-'",
                error(tmp, "{ name = \"../a\", group = g, train = x, test = y }"));
        assertEquals("suite.tasks lists no task", error(tmp, ""));
    }

    private static String error(Path tmp, String tasks) throws Exception {
        Path f = tmp.resolve("bad.conf");
        Files.writeString(f, "suite { tasks = [ " + tasks + " ] }\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SuiteSpec.load(f.toString()));
        assertTrue(e.getMessage().contains(f.getFileName().toString()), e.getMessage());
        return e.getMessage().substring(e.getMessage().indexOf(": ") + 2);
    }
}
