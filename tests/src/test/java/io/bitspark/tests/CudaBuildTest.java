package io.bitspark.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CUDA build (ND4J's CUDA 11.6 backend instead of the CPU one) started on this machine, which has no GPU, no
 * NVIDIA driver and no CUDA libraries: every command that computes stops at once with a one-line reason and exit
 * code 3, and {@code bit doctor} reports the same reason, never a stack trace.
 */
class CudaBuildTest {

    /** This JVM's class path (surefire hands it over in a manifest-only jar) with the CPU backend swapped for CUDA's. */
    static List<String> cudaClasspath() throws Exception {
        List<String> entries = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (e.contains("surefirebooter")) {
                try (JarFile jar = new JarFile(e)) {
                    for (String u : jar.getManifest().getMainAttributes().getValue("Class-Path").split(" ")) {
                        if (!u.isBlank()) {
                            entries.add(Path.of(new java.net.URI(u)).toString());
                        }
                    }
                }
            } else {
                entries.add(e);
            }
        }
        List<String> out = new ArrayList<>();
        int dropped = 0;
        for (String e : entries) {
            String name = Path.of(e).getFileName().toString();
            if (name.matches("nd4j-native-\\d.*\\.jar")) {
                dropped++;
            } else {
                out.add(e);
            }
        }
        assertTrue(dropped >= 2, "the CPU backend's jars were on the class path: " + entries);
        try (Stream<Path> s = Files.list(Path.of(System.getProperty("bit.cuda.jars")))) {
            s.map(Path::toString).forEach(out::add);
        }
        return out;
    }

    static String[] run(Path tmp, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                String.join(File.pathSeparator, cudaClasspath()), "-Dorg.bytedeco.javacpp.cachedir=" + tmp.resolve("javacpp"),
                "io.bitspark.jobs.BitMain"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectOutput(tmp.resolve("out.txt").toFile()).redirectError(tmp.resolve("err.txt").toFile()).start();
        assertTrue(p.waitFor(3, TimeUnit.MINUTES), "the CUDA build did not stop");
        return new String[] {String.valueOf(p.exitValue()), Files.readString(tmp.resolve("out.txt"), StandardCharsets.UTF_8),
                Files.readString(tmp.resolve("err.txt"), StandardCharsets.UTF_8)};
    }

    @Test
    void aCommandFailsInOneLine(@TempDir Path tmp) throws Exception {
        String[] r = run(tmp, "model", "--preset", "tiny");
        List<String> lines = r[2].lines().filter(l -> !l.isBlank()).toList();
        List<String> reasons = lines.stream().filter(l -> l.startsWith("bit model: no usable GPU on this node: ")).toList();
        assertEquals("3", r[0], "exit code; stderr:\n" + r[2]);
        assertEquals(1, reasons.size(), r[2]);
        assertTrue(reasons.get(0).contains("not found"), reasons.get(0));
        assertTrue(lines.stream().noneMatch(l -> l.startsWith("\tat ") || l.contains("Exception")), "no stack trace:\n" + r[2]);
    }

    @Test
    void doctorNamesTheSameReason(@TempDir Path tmp) throws Exception {
        String[] r = run(tmp, "doctor");
        assertEquals("3", r[0], r[1] + r[2]);
        assertTrue(r[1].contains("CUDA 11.6 build") && r[1].contains("status:       PROBLEM: "), r[1]);
        assertTrue(r[2].lines().noneMatch(l -> l.startsWith("\tat ")), "no stack trace:\n" + r[2]);
    }
}
