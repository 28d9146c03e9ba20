package io.bitspark.model.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class DeviceCheckTest {

    /** The kernels libnd4j's CUDA 11.6 build carries (sm_37 ... sm_86, no PTX) and the GPUs they run on. */
    @Test
    void computeCapabilities() {
        for (int[] ok : new int[][] {{3, 7}, {5, 0}, {6, 1}, {7, 0}, {7, 5}, {8, 0}, {8, 6}, {8, 7}, {8, 9}}) {
            assertTrue(DeviceCheck.supported(ok[0], ok[1]), ok[0] + "." + ok[1]);
        }
        for (int[] no : new int[][] {{3, 5}, {9, 0}, {10, 0}, {12, 0}}) {
            assertFalse(DeviceCheck.supported(no[0], no[1]), no[0] + "." + no[1]);
        }
    }

    @Test
    void theCpuBuildCanTrainHere() {
        DeviceCheck.Report r = DeviceCheck.inspect();
        assertFalse(r.cudaBuild());
        assertEquals("CPU", r.backend());
        assertNull(r.problem());
        assertTrue(r.gpus().isEmpty());
    }

    @Test
    void loadFailuresBecomeOneLine() {
        UnsatisfiedLinkError driver = new UnsatisfiedLinkError("/root/.javacpp/cache/x/libjnicudart.so: libcuda.so.1: cannot open shared "
                + "object file: No such file or directory");
        assertTrue(DeviceCheck.reason(new NoClassDefFoundError("x").initCause(driver)).startsWith("no NVIDIA driver on this node (libcuda.so.1"));
        UnsatisfiedLinkError runtime = new UnsatisfiedLinkError("libcudart.so.11.0: cannot open shared object file: No such file or directory");
        String r = DeviceCheck.reason(new RuntimeException("init", runtime));
        assertTrue(r.contains("libcudart.so.11.0 not found") && r.contains("-Pcuda-redist") && !r.contains("\n"), r);
    }
}
