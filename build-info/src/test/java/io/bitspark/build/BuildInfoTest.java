package io.bitspark.build;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.Test;

class BuildInfoTest {

    @Test
    void theBuildWroteItsVersionAndLibraries() {
        String v = BuildInfo.codeVersion();
        assertTrue(v.matches("\\d+\\.\\d+\\.\\d+(-SNAPSHOT)?(\\+[0-9a-f]{7,}(\\.dirty)?)?"), v);
        Map<String, String> libs = BuildInfo.libraries();
        assertEquals(java.util.List.of("deeplearning4j", "nd4j-backend", "java"), java.util.List.copyOf(libs.keySet()));
        for (Map.Entry<String, String> e : libs.entrySet()) {
            assertFalse(e.getValue().contains("${") || e.getValue().contains("unknown"), e.getKey() + " = " + e.getValue());
        }
    }

    @Test
    void aMissingPropertyIsUnknown() {
        assertEquals("unknown", BuildInfo.get("no.such.property"));
    }
}
