package io.bitspark.jobs.pretrain;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

import io.bitspark.data.manifest.DatasetManifest;
import io.bitspark.model.arch.BitOutputs;
import io.bitspark.model.arch.LossKind;
import io.bitspark.model.train.Metrics;

/**
 * Evaluates a network on the first {@code maxExamples} images of the holdout split (evaluation view, no
 * augmentation): top-1 and top-5 accuracy for single-label data, mean average precision for multi-label.
 */
public final class HoldoutEvaluator {

    private final List<BatchRef> refs = new ArrayList<>();
    private final ShardBatchLoader loader;
    private final LossKind loss;
    private final int examples;

    public HoldoutEvaluator(List<String> holdoutShards, DatasetManifest manifest, ShardBatchLoader loader, LossKind loss,
                            int maxExamples, int batch) {
        this.loader = loader;
        this.loss = loss;
        int left = maxExamples;
        for (int s = 0; s < holdoutShards.size() && left > 0; s++) {
            long rows = manifest.holdout().get(s).rows();
            for (long from = 0; from < rows && left > 0; from += batch) {
                int n = (int) Math.min(Math.min(batch, rows - from), left);
                refs.add(new BatchRef(holdoutShards.get(s), from, n, 0));
                left -= n;
            }
        }
        this.examples = maxExamples - left;
    }

    public int examples() {
        return examples;
    }

    /** Metric name to value; empty when the holdout split is empty. */
    public Map<String, Double> evaluate(ComputationGraph net) throws IOException {
        Map<String, Double> out = new LinkedHashMap<>();
        if (refs.isEmpty()) {
            return out;
        }
        List<float[]> scores = new ArrayList<>();
        List<float[]> labels = new ArrayList<>();
        for (BatchRef r : refs) {
            DataSet d = loader.load(r);
            INDArray logits = BitOutputs.logits(net, d.getFeatures());
            for (int i = 0; i < logits.size(0); i++) {
                scores.add(logits.getRow(i).toFloatVector());
                labels.add(d.getLabels().getRow(i).toFloatVector());
            }
        }
        float[][] s = scores.toArray(new float[0][]);
        if (loss == LossKind.SOFTMAX_CROSS_ENTROPY) {
            int[] y = new int[s.length];
            for (int i = 0; i < y.length; i++) {
                float[] l = labels.get(i);
                for (int c = 0; c < l.length; c++) {
                    if (l[c] > 0) {
                        y[i] = c;
                        break;
                    }
                }
            }
            out.put("holdout_top1", Metrics.topK(s, y, 1));
            out.put("holdout_top5", Metrics.topK(s, y, Math.min(5, s[0].length)));
        } else {
            boolean[][] p = new boolean[s.length][];
            for (int i = 0; i < s.length; i++) {
                float[] l = labels.get(i);
                p[i] = new boolean[l.length];
                for (int c = 0; c < l.length; c++) {
                    p[i][c] = l[c] > 0;
                }
            }
            out.put("holdout_map", Metrics.meanAveragePrecision(s, p));
        }
        out.put("holdout_examples", (double) s.length);
        return out;
    }
}
