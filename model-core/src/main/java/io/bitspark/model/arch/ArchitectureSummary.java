package io.bitspark.model.arch;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;

/**
 * A human-readable table of a spec: per stage its units, stride, widths, output resolution for a given
 * input size and parameter count, computed from the DL4J configuration without allocating weights.
 */
public final class ArchitectureSummary {

    /** One row of the table. */
    public record Row(String part, String units, String stride, String mid, String out, String resolution, long parameters) {}

    private ArchitectureSummary() {}

    public static List<Row> rows(ResNetV2Spec spec, int resolution) {
        ComputationGraphConfiguration conf = ResNetV2Builder.configuration(spec,
                ModelOptions.defaults().withInputSize(resolution, resolution));
        Map<String, Long> params = ResNetV2Builder.parameterCounts(conf);
        Map<String, InputType> types = conf.getLayerActivationTypes(false, false,
                InputType.convolutional(resolution, resolution, 3));

        List<Row> rows = new ArrayList<>();
        rows.add(new Row("root", "-", String.valueOf(spec.stem().stride() * spec.stem().poolStride()), "-",
                String.valueOf(spec.baseWidth()), size(types.get(BitLayerNames.ROOT_POOL)),
                sumWithPrefix(params, "root_block/")));
        for (int s = 0; s < spec.numStages(); s++) {
            String last = BitLayerNames.add(BitLayerNames.unit(s, spec.unitsPerStage().get(s) - 1));
            rows.add(new Row("block" + (s + 1), String.valueOf(spec.unitsPerStage().get(s)),
                    String.valueOf(spec.stageStride(s)), String.valueOf(spec.midChannels(s)),
                    String.valueOf(spec.outChannels(s)), size(types.get(last)),
                    sumWithPrefix(params, "block" + (s + 1) + "/")));
        }
        rows.add(new Row("head", "-", "-", "-", String.valueOf(spec.numClasses()), "1x1",
                params.get(BitLayerNames.FINAL_NORM) + params.get(BitLayerNames.HEAD)));
        return rows;
    }

    public static String render(ResNetV2Spec spec, int resolution, String description) {
        List<Row> rows = rows(spec, resolution);
        long total = rows.stream().mapToLong(Row::parameters).sum();
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%s%s: ResNet-v2, %d layers, width x%s, units %s%n", spec.name(),
                description == null ? "" : " (" + description + ")", spec.depth(), spec.widthLabel(), spec.unitsPerStage()));
        sb.append(String.format(Locale.ROOT, "GroupNorm %d groups (eps %s), weight standardization eps %s, %d classes%n",
                spec.groups(), spec.gnEpsilon(), spec.wsEpsilon(), spec.numClasses()));
        sb.append(String.format(Locale.ROOT, "%-7s %5s %6s %5s %6s %11s %15s%n", "part", "units", "stride", "mid", "out",
                "output@" + resolution, "parameters"));
        for (Row r : rows) {
            sb.append(String.format(Locale.ROOT, "%-7s %5s %6s %5s %6s %11s %,15d%n", r.part(), r.units(), r.stride(),
                    r.mid(), r.out(), r.resolution(), r.parameters()));
        }
        sb.append(String.format(Locale.ROOT, "total parameters: %,d%n", total));
        return sb.toString();
    }

    private static String size(InputType t) {
        if (t instanceof InputType.InputTypeConvolutional c) {
            return c.getHeight() + "x" + c.getWidth();
        }
        return "?";
    }

    private static long sumWithPrefix(Map<String, Long> params, String prefix) {
        return params.entrySet().stream().filter(e -> e.getKey().startsWith(prefix)).mapToLong(Map.Entry::getValue).sum();
    }
}
