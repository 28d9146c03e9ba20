package io.bitspark.jobs.transfer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.bitspark.model.arch.LossKind;
import io.bitspark.model.arch.ResNetV2Spec;

/**
 * The few-shot protocol of the paper (section 4.2): for each k and seed, k training images per class drawn
 * with that seed; fine-tuning with the HyperRule and a linear probe on frozen pre-logits, both evaluated on
 * the same evaluation set; optionally the same from a randomly initialised network as the baseline.
 */
public final class FewShot {

    private static final Logger LOG = LoggerFactory.getLogger(FewShot.class);

    private FewShot() {}

    /** One (init, k, seed) outcome. */
    public record Row(String init, int shots, long seed, double fineTuneTop1, double probeTop1) {}

    public static List<Row> run(ComputationGraph pretrained, ResNetV2Spec body, InMemoryDataset train, InMemoryDataset eval,
                                int[] shots, int seeds, long baseSeed, boolean compareRandom, SettingsFor settings) throws IOException {
        List<Row> rows = new ArrayList<>();
        for (String init : compareRandom ? List.of("pretrained", "random") : List.of("pretrained")) {
            for (int k : shots) {
                for (int s = 0; s < seeds; s++) {
                    long seed = baseSeed + s;
                    InMemoryDataset subset = train.sample(k, seed);
                    FineTuneSettings fs = settings.forSize(subset.size()).withSeed(seed);
                    ComputationGraph source = init.equals("pretrained") ? pretrained : null;
                    ComputationGraph net = FineTuner.transferNet(source, body, train.classes(), fs, LossKind.SOFTMAX_CROSS_ENTROPY);
                    double probe = FineTuner.linearProbe(net, subset, eval, fs.crop());
                    FineTuner.Result r = FineTuner.fineTune(net, subset, eval, fs, LossKind.SOFTMAX_CROSS_ENTROPY);
                    Row row = new Row(init, k, seed, r.top1(), probe);
                    LOG.info("few-shot {} k={} seed={}: fine-tune top-1 {}, linear probe top-1 {}", init, k, seed,
                            String.format(Locale.ROOT, "%.3f", r.top1()), String.format(Locale.ROOT, "%.3f", probe));
                    rows.add(row);
                }
            }
        }
        return rows;
    }

    /** Settings for a subset of a given size (the HyperRule with the user's overrides). */
    public interface SettingsFor {
        FineTuneSettings forSize(long size);
    }

    /** Median and range per (init, k) of both methods, as a Markdown table. */
    public static String table(List<Row> rows) {
        Map<String, List<Row>> groups = new LinkedHashMap<>();
        for (Row r : rows) {
            groups.computeIfAbsent(r.init() + "|" + r.shots(), x -> new ArrayList<>()).add(r);
        }
        StringBuilder sb = new StringBuilder("| init | shots | seeds | fine-tune top-1 median [min, max] | linear probe top-1 median [min, max] |\n");
        sb.append("| --- | --- | --- | --- | --- |\n");
        for (List<Row> g : groups.values()) {
            double[] ft = g.stream().mapToDouble(Row::fineTuneTop1).sorted().toArray();
            double[] lp = g.stream().mapToDouble(Row::probeTop1).sorted().toArray();
            sb.append(String.format(Locale.ROOT, "| %s | %d | %d | %.3f [%.3f, %.3f] | %.3f [%.3f, %.3f] |%n", g.get(0).init(),
                    g.get(0).shots(), g.size(), median(ft), ft[0], ft[ft.length - 1], median(lp), lp[0], lp[lp.length - 1]));
        }
        return sb.toString();
    }

    public static double median(double[] values) {
        return io.bitspark.model.stats.Stats.median(values);
    }

    /** Median fine-tune top-1 per (init, shots). */
    public static Map<String, Double> medians(List<Row> rows) {
        Map<String, List<Double>> g = new LinkedHashMap<>();
        rows.forEach(r -> g.computeIfAbsent(r.init() + ":" + r.shots(), x -> new ArrayList<>()).add(r.fineTuneTop1()));
        Map<String, Double> out = new LinkedHashMap<>();
        g.forEach((k, v) -> out.put(k, median(v.stream().mapToDouble(Double::doubleValue).sorted().toArray())));
        return out;
    }

    static String shots(int[] s) {
        return Arrays.toString(s);
    }
}
