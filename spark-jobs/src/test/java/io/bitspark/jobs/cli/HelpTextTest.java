package io.bitspark.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.bitspark.jobs.BitMain;
import io.bitspark.jobs.cli.ModelCommandTest.Run;
import picocli.CommandLine;

/** Every command's help renders as written: picocli warns on stderr (and prints the raw text) when a description does not format. */
class HelpTextTest {

    @Test
    void everyCommandsHelpFormatsWithoutWarnings() {
        Map<String, CommandLine> commands = new CommandLine(new BitMain()).getSubcommands();
        assertTrue(commands.size() > 10, "subcommands: " + commands.keySet());
        PrintStream saved = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            for (String name : commands.keySet()) {
                if (name.equals("help")) {
                    continue;
                }
                Run r = ModelCommandTest.bit(name, "--help");
                assertEquals(0, r.code(), name + ": " + r.err());
                assertTrue(r.out().contains("Usage: bit " + name), name + ":\n" + r.out());
                assertFalse(r.out().contains("%n") || r.out().contains("%%"), name + " help shows raw format text:\n" + r.out());
            }
        } finally {
            System.setErr(saved);
        }
        String warnings = captured.toString(StandardCharsets.UTF_8);
        assertFalse(warnings.contains("picocli WARN"), warnings);
    }
}
