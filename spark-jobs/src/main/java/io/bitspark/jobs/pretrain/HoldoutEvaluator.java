package io.bitspark.jobs.pretrain;

import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;

import io.bitspark.data.shards.BatchRef;
import io.bitspark.model.arch.BitOutputs;
import io.bitspark.model.layers.FrozenKernels;
import io.bitspark.model.arch.LossKind;
import io.bitspark.model.train.Metrics;

/**
 * Evaluates a network on the holdout split, or its first {@code maxExamples} images when that is above 0 (evaluation view, no
 * augmentation): top-1 and top-5 accuracy for single-label data, mean average precision for multi-label.
 * The work splits by batch over any number of workers ({@link #part}); {@link #metrics} combines the parts:
 * for single-label data a part is three counts, so evaluation on executors sends almost nothing to the driver.
 */
public final class HoldoutEvaluator implements Serializable {

    /** One worker's share of an evaluation: hit counts (single-label) or scores and labels (multi-label). */
    public record Part(long examples, long top1, long top5, float[][] scores, boolean[][] labels) implements Serializable {}

    private final List<BatchRef> refs;
    private final ShardBatchLoader loader;
    private final LossKind loss;
    private final int examples;

    /** Evaluates on {@code refs} (a holdout selection, see {@link io.bitspark.data.shards.PreparedDataset#inOrder}). */
    public HoldoutEvaluator(List<BatchRef> refs, ShardBatchLoader loader, LossKind loss) {
        this.refs = List.copyOf(refs);
        this.loader = loader;
        this.loss = loss;
        this.examples = refs.stream().mapToInt(BatchRef::count).sum();
    }

    public int examples() {
        return examples;
    }

    /** Metric name to value on the whole holdout selection; empty when the holdout split is empty. */
    public Map<String, Double> evaluate(ComputationGraph net) throws IOException {
        return metrics(List.of(part(net, 0, 1)));
    }

    /** Evaluates batches {@code worker, worker + workers, ...} of the holdout selection. */
    public Part part(ComputationGraph net, int worker, int workers) throws IOException {
        try (FrozenKernels frozen = FrozenKernels.of(net)) {
            return scores(net, worker, workers);
        }
    }

    private Part scores(ComputationGraph net, int worker, int workers) throws IOException {
        long n = 0;
        long top1 = 0;
        long top5 = 0;
        List<float[]> scores = new ArrayList<>();
        List<boolean[]> labels = new ArrayList<>();
        for (int b = worker; b < refs.size(); b += workers) {
            io.bitspark.data.shards.BatchDecoder.Batch raw = loader.decode(refs.get(b));
            INDArray x = ShardBatchLoader.features(raw);
            INDArray logits = BitOutputs.logits(net, x);
            for (int i = 0; i < logits.size(0); i++) {
                float[] s = logits.getRow(i).toFloatVector();
                int[] classes = raw.labels()[i];
                n++;
                if (loss == LossKind.SOFTMAX_CROSS_ENTROPY) {
                    float[][] one = {s};
                    int[] ys = {classes.length == 0 ? 0 : classes[0]};
                    top1 += Math.round(Metrics.topK(one, ys, 1));
                    top5 += Math.round(Metrics.topK(one, ys, Math.min(5, s.length)));
                } else {
                    boolean[] p = new boolean[s.length];
                    for (int c : classes) {
                        p[c] = true;
                    }
                    scores.add(s);
                    labels.add(p);
                }
            }
            logits.close();
            x.close();
        }
        return new Part(n, top1, top5, scores.toArray(new float[0][]), labels.toArray(new boolean[0][]));
    }

    /** The metrics of the parts of one evaluation taken together. */
    public Map<String, Double> metrics(List<Part> parts) {
        Map<String, Double> out = new LinkedHashMap<>();
        long n = parts.stream().mapToLong(Part::examples).sum();
        if (n == 0) {
            return out;
        }
        if (loss == LossKind.SOFTMAX_CROSS_ENTROPY) {
            out.put(Metrics.named(Metrics.HOLDOUT, Metrics.TOP1), parts.stream().mapToLong(Part::top1).sum() / (double) n);
            out.put(Metrics.named(Metrics.HOLDOUT, Metrics.TOP5), parts.stream().mapToLong(Part::top5).sum() / (double) n);
        } else {
            List<float[]> s = new ArrayList<>();
            List<boolean[]> p = new ArrayList<>();
            for (Part part : parts) {
                s.addAll(List.of(part.scores()));
                p.addAll(List.of(part.labels()));
            }
            out.put(Metrics.named(Metrics.HOLDOUT, Metrics.MAP), Metrics.meanAveragePrecision(s.toArray(new float[0][]), p.toArray(new boolean[0][])));
        }
        out.put("holdout_examples", (double) n);
        return out;
    }
}
