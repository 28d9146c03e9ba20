package io.bitspark.model.train;

import java.util.Arrays;

/**
 * Evaluation metrics on scores {@code [n][classes]}: top-k accuracy for single-label data, and mean average
 * precision over classes for multi-label data (AP of a class = mean of precision at each positive, ranked by
 * score; classes without positives are left out of the mean, as is usual).
 */
public final class Metrics {

    /** The metric names every evaluator reports, alone or after a split ({@link #named}: holdout_top1, eval_top5, ...). */
    public static final String TOP1 = "top1";
    public static final String TOP5 = "top5";
    public static final String MAP = "map";

    /** The split names metrics are reported under: pre-training's holdout, fine-tuning's evaluation set, a suite's validation set. */
    public static final String HOLDOUT = "holdout";
    public static final String EVAL = "eval";
    public static final String VAL = "val";

    private Metrics() {}

    /** {@code split_metric}, e.g. {@code holdout_top1}. */
    public static String named(String split, String metric) {
        return split + "_" + metric;
    }

    /**
     * Fraction of rows whose label is among the k highest scores (ties count against). A NaN score ranks above
     * everything, so a row whose label scores NaN is a miss, and so is a row where k other scores are NaN: a
     * diverged model scores 0, never 1.
     */
    public static double topK(float[][] scores, int[] labels, int k) {
        int hits = 0;
        for (int i = 0; i < scores.length; i++) {
            float target = scores[i][labels[i]];
            int better = Float.isNaN(target) ? k : 0;
            for (int c = 0; c < scores[i].length && better < k; c++) {
                if (c != labels[i] && (scores[i][c] >= target || Float.isNaN(scores[i][c]))) {
                    better++;
                }
            }
            if (better < k) {
                hits++;
            }
        }
        return scores.length == 0 ? Double.NaN : hits / (double) scores.length;
    }

    /** Mean over classes with at least one positive of the average precision. */
    public static double meanAveragePrecision(float[][] scores, boolean[][] positives) {
        int n = scores.length;
        if (n == 0) {
            return Double.NaN;
        }
        int classes = scores[0].length;
        double sum = 0;
        int counted = 0;
        Integer[] order = new Integer[n];
        for (int c = 0; c < classes; c++) {
            int pos = 0;
            for (int i = 0; i < n; i++) {
                if (positives[i][c]) {
                    pos++;
                }
            }
            if (pos == 0) {
                continue;
            }
            for (int i = 0; i < n; i++) {
                order[i] = i;
            }
            final int cls = c;
            // NaN ranks first (Float.compare puts it above every number): a NaN score is never a good ranking.
            Arrays.sort(order, (a, b) -> Float.compare(scores[b][cls], scores[a][cls]));
            double ap = 0;
            int seen = 0;
            for (int r = 0; r < n; r++) {
                if (positives[order[r]][c]) {
                    seen++;
                    ap += seen / (double) (r + 1);
                }
            }
            sum += ap / pos;
            counted++;
        }
        return counted == 0 ? Double.NaN : sum / counted;
    }
}
