package io.bitspark.jobs.cli;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;

import io.bitspark.model.arch.ArchitectureSummary;
import io.bitspark.model.arch.ResNetV2Builder;
import io.bitspark.model.arch.ResNetV2Presets;
import io.bitspark.model.arch.ResNetV2Spec;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bit model}: architecture summary and exact parameter count of a preset, without allocating weights. */
@Command(name = "model", mixinStandardHelpOptions = true,
        description = "Print a preset's architecture and exact parameter count, or list the presets.")
public final class ModelCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--list", description = "List the presets.")
    boolean list;

    @Option(names = "--preset", paramLabel = "NAME", description = "Preset name, e.g. r50x1 (also BiT-M-R50x1).")
    String preset;

    @Option(names = "--classes", paramLabel = "N", description = "Head classes (default: the preset's).")
    Integer classes;

    @Option(names = "--resolution", paramLabel = "PX", defaultValue = "224",
            description = "Input size for the resolution column (default: ${DEFAULT-VALUE}).")
    int resolution;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (list) {
            out.printf(Locale.ROOT, "%-8s %-11s %5s %15s  %s%n", "preset", "units", "width", "parameters", "description");
            for (String name : ResNetV2Presets.names()) {
                ResNetV2Spec s = ResNetV2Presets.get(name);
                out.printf(Locale.ROOT, "%-8s %-11s %5s %,15d  %s (%d classes)%n", name,
                        s.unitsPerStage().toString().replace(" ", ""), "x" + s.widthLabel(), ResNetV2Builder.parameterCount(s),
                        ResNetV2Presets.description(name), s.numClasses());
            }
            out.flush();
            return 0;
        }
        if (preset == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "give --preset NAME or --list");
        }
        ResNetV2Spec s = ResNetV2Presets.get(preset);
        if (classes != null) {
            s = s.withClasses(classes);
        }
        out.print(ArchitectureSummary.render(s, resolution, ResNetV2Presets.description(s.name())));
        out.flush();
        return 0;
    }
}
