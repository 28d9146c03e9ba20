package io.bitspark.jobs.transfer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.deeplearning4j.nn.graph.ComputationGraph;

import io.bitspark.model.train.Metrics;

/** Metrics of a network on a data set held in memory, and the most frequent confusions. */
public final class Evaluation {

    private Evaluation() {}

    public record Report(Map<String, Double> metrics, List<String> confusions) {}

    public static Report evaluate(ComputationGraph net, InMemoryDataset d, int resolution) throws IOException {
        float[][] s = FineTuner.scores(net, d, resolution, false);
        Map<String, Double> m = new LinkedHashMap<>();
        List<String> confusions = new ArrayList<>();
        if (d.multiLabel()) {
            boolean[][] p = new boolean[d.size()][d.classes()];
            for (int i = 0; i < d.size(); i++) {
                for (int c : d.rows().get(i).labels()) {
                    p[i][c] = true;
                }
            }
            m.put(Metrics.MAP, Metrics.meanAveragePrecision(s, p));
            return new Report(m, confusions);
        }
        int[] y = FineTuner.firstLabels(d);
        m.put(Metrics.TOP1, Metrics.topK(s, y, 1));
        m.put(Metrics.TOP5, Metrics.topK(s, y, Math.min(5, d.classes())));
        long[][] counts = new long[d.classes()][d.classes()];
        for (int i = 0; i < s.length; i++) {
            int best = 0;
            for (int c = 1; c < s[i].length; c++) {
                if (s[i][c] > s[i][best]) {
                    best = c;
                }
            }
            counts[y[i]][best]++;
        }
        List<long[]> off = new ArrayList<>();
        for (int a = 0; a < counts.length; a++) {
            for (int b = 0; b < counts.length; b++) {
                if (a != b && counts[a][b] > 0) {
                    off.add(new long[] {counts[a][b], a, b});
                }
            }
        }
        off.sort((u, v) -> Long.compare(v[0], u[0]));
        for (long[] o : off.subList(0, Math.min(5, off.size()))) {
            confusions.add(String.format(Locale.ROOT, "%s -> %s: %d", d.classNames().get((int) o[1]),
                    d.classNames().get((int) o[2]), o[0]));
        }
        return new Report(m, confusions);
    }
}
