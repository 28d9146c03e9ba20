package io.bitspark.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;

import org.junit.jupiter.api.Test;

import io.bitspark.jobs.BitMain;

public class ModelCommandTest {

    public record Run(int code, String out, String err) {}

    public static Run bit(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = BitMain.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void r50x1WithAThousandClassesHasTheReleasedParameterCount() {
        Run r = bit("model", "--preset", "r50x1", "--classes", "1000");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("total parameters: 25,549,352"), r.out());
        assertTrue(r.out().contains("block4") && r.out().contains("7x7"), r.out());
    }

    @Test
    void listShowsEveryPreset() {
        Run r = bit("model", "--list");
        assertEquals(0, r.code(), r.err());
        for (String p : new String[] {"r50x1", "r50x3", "r101x1", "r101x3", "r152x2", "r152x4", "tiny", "micro"}) {
            assertTrue(r.out().contains(p), p + " missing in:\n" + r.out());
        }
        assertTrue(r.out().contains("936,533,224"), r.out());
    }

    @Test
    void unknownPresetIsAOneLineErrorNamingTheKnownOnes() {
        Run r = bit("model", "--preset", "r18");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("unknown preset 'r18'") && r.err().contains("r50x1"), r.err());
    }

    @Test
    void missingPresetIsAUsageError() {
        Run r = bit("model");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--preset"), r.err());
    }
}
