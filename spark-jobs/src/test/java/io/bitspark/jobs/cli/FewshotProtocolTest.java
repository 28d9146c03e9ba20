package io.bitspark.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import io.bitspark.jobs.cli.ModelCommandTest.Run;

/** {@code fewshot --protocol bit} keeps the HyperRule's schedule: overrides of it are usage errors, before any work. */
class FewshotProtocolTest {

    @Test
    void theBitProtocolRefusesScheduleOverrides() {
        for (String[] o : new String[][] {{"--steps", "60"}, {"--lr", "0.01"}}) {
            Run r = ModelCommandTest.bit("fewshot", "--protocol", "bit", "--checkpoint", "/nonexistent.npz", "--data", "/nonexistent",
                    "--output", "/tmp/unused", o[0], o[1]);
            assertEquals(2, r.code(), r.out() + r.err());
            assertTrue(r.err().contains("--protocol bit fine-tunes with the HyperRule's schedule; drop --steps and --lr"), r.err());
        }
        Run r = ModelCommandTest.bit("fewshot", "--protocol", "paper", "--checkpoint", "/nonexistent.npz", "--data", "/nonexistent",
                "--output", "/tmp/unused");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--protocol is bit or custom, not 'paper'"), r.err());
    }
}
