package io.bitspark.model.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.Test;

class NativeEnvironmentTest {

    @Test
    void reportsOnlyUnsetVariablesAndRespectsUserValues() {
        Map<String, String> env = Map.of("OMP_WAIT_POLICY", "ACTIVE", "MALLOC_ARENA_MAX", "1");
        Map<String, String> missing = NativeEnvironment.missing(env::get);
        assertEquals(Map.of("MALLOC_MMAP_MAX_", "0", "MALLOC_TRIM_THRESHOLD_", "17179869184"), missing);
        assertTrue(NativeEnvironment.missing(NativeEnvironment.RECOMMENDED::get).isEmpty());
    }

    @Test
    void testsRunWithTheEnvironmentBinBitSets() {
        // surefire's environmentVariables mirror bin/bit: the tests measure what users run.
        assertTrue(NativeEnvironment.missing(System::getenv).isEmpty(), NativeEnvironment.describe());
    }
}
