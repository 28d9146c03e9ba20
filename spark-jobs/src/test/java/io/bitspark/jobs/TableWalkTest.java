package io.bitspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.bitspark.jobs.pretrain.PretrainConfig;
import io.bitspark.model.arch.ResNetV2Builder;
import io.bitspark.model.arch.ResNetV2Presets;
import picocli.CommandLine;

/**
 * Walks the tables users reach: every pre-training preset under conf/pretrain/ (by name and as a file), and
 * every command and subcommand's {@code --help}.
 */
class TableWalkTest {

    private static final Path CONF = Path.of("..", "conf", "pretrain");

    static List<String> confFiles() throws Exception {
        try (Stream<Path> s = Files.list(CONF)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".conf") && !n.equals("defaults.conf"))
                    .sorted().toList();
        }
    }

    @Test
    void thePresetListIsTheDirectory() throws Exception {
        TreeSet<String> onDisk = new TreeSet<>();
        for (String f : confFiles()) {
            onDisk.add(f.substring(0, f.length() - ".conf".length()));
        }
        assertEquals(onDisk, new TreeSet<>(PretrainConfig.PRESETS), "conf/pretrain/ against PretrainConfig.PRESETS");
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> PretrainConfig.load("bit-x", List.of()));
        for (String p : PretrainConfig.PRESETS) {
            assertTrue(e.getMessage().contains(p), e.getMessage());
        }
    }

    /** Every key of defaults.conf is a declared setting, and every declared setting has its default there. */
    @Test
    void everyDefaultIsADeclaredSetting() throws Exception {
        com.typesafe.config.Config defaults = com.typesafe.config.ConfigFactory.parseFile(CONF.resolve("defaults.conf").toFile())
                .getConfig("bit");
        TreeSet<String> inFile = new TreeSet<>();
        for (var e : defaults.entrySet()) {
            inFile.add(e.getKey());
        }
        TreeSet<String> declared = new TreeSet<>();
        for (PretrainConfig.Setting<?> s : PretrainConfig.settings()) {
            assertTrue(declared.add(s.key()), "declared twice: " + s.key());
        }
        assertEquals(inFile, declared);
        for (String k : PretrainConfig.FIXED) {
            assertTrue(declared.contains(k), k);
        }
        for (String k : PretrainConfig.SCHEDULE) {
            assertTrue(declared.contains(k), k);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("confFiles")
    void everyPresetResolvesAndValidates(String file) {
        String name = file.substring(0, file.length() - ".conf".length());
        PretrainConfig byName = PretrainConfig.load(name, List.of());
        PretrainConfig byFile = PretrainConfig.load(CONF.resolve(file).toString(), List.of());
        assertEquals(byName.resolved(), byFile.resolved(), file + ": the packaged preset is the file on disk");
        // The model exists, and its parameter count comes from the configuration without allocating it.
        assertTrue(ResNetV2Builder.parameterCount(ResNetV2Presets.get(byName.modelPreset())) > 0, byName.modelPreset());
        assertTrue(byName.workers() == 0 || byName.globalBatch() % byName.workers() == 0, file + ": global batch splits over the workers");
        long stepsPerEpoch = 1000;
        long total = byName.totalSteps(stepsPerEpoch);
        assertTrue(total > 0, file + ": " + total + " steps");
        long[] decays = byName.decaySteps(stepsPerEpoch);
        for (int i = 1; i < decays.length; i++) {
            assertTrue(decays[i] > decays[i - 1], file + ": decays ascend");
        }
        var schedule = byName.schedule(stepsPerEpoch);
        double peak = byName.peakLr();
        assertTrue(peak > 0, file);
        for (long s : new long[] {0, byName.warmupSteps(), total / 2, total - 1}) {
            double lr = schedule.lr(s);
            assertTrue(lr >= 0 && lr <= peak * (1 + 1e-12), file + ": lr " + lr + " at step " + s + " outside [0, " + peak + "]");
        }
        // Overriding a key of the preset is seen, and the preset's own values survive.
        PretrainConfig changed = PretrainConfig.load(name, List.of("train.seed=" + (byName.seed() + 1)));
        assertEquals(byName.seed() + 1, changed.seed());
        assertEquals(byName.modelPreset(), changed.modelPreset());
    }

    static List<List<String>> commands() {
        List<List<String>> out = new ArrayList<>();
        walk(new CommandLine(new BitMain()), new ArrayList<>(), out);
        return out;
    }

    private static void walk(CommandLine cl, List<String> path, List<List<String>> out) {
        out.add(List.copyOf(path));
        for (var e : cl.getSubcommands().entrySet()) {
            if (e.getValue().getCommandSpec().aliases().length > 0 && !e.getKey().equals(e.getValue().getCommandName())) {
                continue;
            }
            path.add(e.getKey());
            walk(e.getValue(), path, out);
            path.remove(path.size() - 1);
        }
    }

    @Test
    void theWalkFindsTheCommands() {
        List<String> top = commands().stream().filter(p -> p.size() == 1).map(p -> p.get(0)).toList();
        assertTrue(top.containsAll(List.of("prepare", "pretrain", "finetune", "fewshot", "plan", "bench", "report")), top.toString());
    }

    /** {@code bit --version} names the build as checkpoints and data sets record it (with its git commit). */
    @Test
    void theVersionIsTheOneProvenanceRecords() {
        StringWriter out = new StringWriter();
        assertEquals(0, BitMain.run(new PrintWriter(out, true), new PrintWriter(new StringWriter(), true), "--version"));
        String first = out.toString().lines().findFirst().orElse("");
        assertEquals("bit " + io.bitspark.build.BuildInfo.codeVersion(), first);
        assertTrue(first.matches("bit \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?\\+[0-9a-f]{7,}(\\.dirty)?"), first);
        assertFalse(out.toString().contains("unknown") || out.toString().contains("${"), out.toString());
    }

    /** Prepare's help shows the defaults the pipeline applies (declared once, in ImageProcessor.Config and PrepareConfig). */
    @Test
    void prepareShowsThePipelinesDefaults() {
        StringWriter out = new StringWriter();
        assertEquals(0, BitMain.run(new PrintWriter(out, true), new PrintWriter(new StringWriter(), true), "prepare", "--help"));
        var d = io.bitspark.data.image.ImageProcessor.Config.defaults();
        String text = out.toString().replaceAll("\\s+", " ");
        for (String s : new String[] {"images (default: " + d.maxSide() + ")", "JPEGs (default: " + d.jpegQuality() + ")",
                "bytes (default: " + d.maxBytes() + ")", "header (default: " + d.maxPixels() + ")", "pixels (default: " + d.minSide() + ")"}) {
            assertTrue(text.contains(s), s + " in\n" + out);
        }
    }

    @ParameterizedTest(name = "bit {0} --help")
    @MethodSource("commands")
    void everyCommandsHelpWorks(List<String> path) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<String> args = new ArrayList<>(path);
        args.add("--help");
        int rc = BitMain.run(new PrintWriter(out, true), new PrintWriter(err, true), args.toArray(String[]::new));
        assertEquals(0, rc, "bit " + String.join(" ", args) + ": " + err);
        String text = out.toString();
        assertTrue(text.contains("Usage: bit" + (path.isEmpty() ? "" : " " + String.join(" ", path))), text);
        assertFalse(text.contains("${"), "an unexpanded variable in the help of bit " + path + ":\n" + text);
        assertEquals("", err.toString(), "bit " + path + " --help wrote errors");
        // Every command says what it does.
        String[] lines = text.split("\n");
        assertTrue(lines.length > 2 && text.lines().skip(1).anyMatch(l -> !l.isBlank() && !l.startsWith(" ")), text);
    }
}
