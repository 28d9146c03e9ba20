package io.bitspark.jobs.pretrain;

import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;

import io.bitspark.data.image.Augment;
import io.bitspark.data.shards.BatchRef;
import io.bitspark.data.shards.PreparedDataset;
import io.bitspark.model.arch.BitOutputs;
import io.bitspark.model.layers.FrozenKernels;
import io.bitspark.model.train.RidgeProbe;

/**
 * The few-shot signal of an upstream run, as big_vision's evaluator gives it: every {@code eval.fewshot.every_steps},
 * the current network's pre-logits (frozen features, evaluation view) of the images of a few downstream data sets;
 * for each k of {@code eval.fewshot.shots} and each of {@code seeds} balanced random draws of k training images per
 * class, a closed-form ridge probe on those features is scored on the task's test images. Metrics:
 * {@code fewshot_<task>_<k>shot} (median over the draws) and {@code fewshot_<k>shot} (mean over tasks).
 *
 * <p>The feature work splits by batch over any number of workers ({@link #part}); {@link #metrics} fits the probes
 * on the driver from the parts (features of at most {@code max_examples} images per split and task).
 */
public final class FewShotEvaluator implements Serializable {

    /** A downstream task: the batches of its training pool and its test images. */
    record Task(String name, int classes, List<BatchRef> train, List<BatchRef> test, ShardBatchLoader loader) implements Serializable {}

    /** Features and labels of one batch of one task's split, with the batch's position (parts are put back in order). */
    public record Part(int task, boolean test, int batch, float[][] features, int[] labels) implements Serializable {}

    private final List<Task> tasks;
    private final int[] shots;
    private final int seeds;
    private final long seed;
    private final double lambda;

    private FewShotEvaluator(List<Task> tasks, int[] shots, int seeds, long seed, double lambda) {
        this.tasks = tasks;
        this.shots = shots;
        this.seeds = seeds;
        this.seed = seed;
        this.lambda = lambda;
    }

    /**
     * Opens the downstream data sets: each entry is a prepared data set URI (shots from its train split, scored on
     * its holdout split) or {@code {name = ..., train = URI, test = URI}} (scored on the test set's train split).
     */
    public static FewShotEvaluator open(List<?> data, Configuration hadoop, int resolution, int[] shots, int seeds, long seed,
                                        int maxExamples, int batch, double lambda) throws IOException {
        List<Task> tasks = new ArrayList<>();
        for (Object o : data) {
            String name;
            String train;
            String test;
            if (o instanceof Map<?, ?> m) {
                train = String.valueOf(m.get("train"));
                test = m.get("test") == null ? null : String.valueOf(m.get("test"));
                name = m.get("name") != null ? String.valueOf(m.get("name")) : lastSegment(train);
                if (m.get("train") == null) {
                    throw new IllegalArgumentException("bit.eval.fewshot.data: entry " + m + " has no 'train'");
                }
            } else {
                train = String.valueOf(o);
                test = null;
                name = lastSegment(train);
            }
            PreparedDataset tr = PreparedDataset.open(train, hadoop, "bit.eval.fewshot.data");
            PreparedDataset te = test == null ? tr : PreparedDataset.open(test, hadoop, "bit.eval.fewshot.data");
            if (tr.manifest().multiLabel()) {
                throw new IllegalArgumentException("bit.eval.fewshot.data: " + train + " is multi-label; the few-shot probe needs "
                        + "single-label data");
            }
            if (test != null && !te.manifest().classNames().equals(tr.manifest().classNames())) {
                throw new IllegalArgumentException("bit.eval.fewshot.data: the classes of " + test + " " + te.manifest().classNames()
                        + " differ from those of " + train + " " + tr.manifest().classNames());
            }
            PreparedDataset.Split testSplit = test == null ? PreparedDataset.Split.HOLDOUT : PreparedDataset.Split.TRAIN;
            if (te.rows(testSplit) == 0) {
                throw new IllegalArgumentException("bit.eval.fewshot.data: " + (test == null ? train + " has no holdout split to score "
                        + "on; give {train = ..., test = ...}" : test + " has no images"));
            }
            int classes = tr.manifest().numClasses();
            ShardBatchLoader loader = new ShardBatchLoader(hadoop, Augment.Config.bit(resolution), classes, seed, false);
            tasks.add(new Task(name, classes, tr.inOrder(PreparedDataset.Split.TRAIN, maxExamples, batch),
                    te.inOrder(testSplit, maxExamples, batch),
                    loader));
        }
        return new FewShotEvaluator(tasks, shots, seeds, seed, lambda);
    }

    private static String lastSegment(String uri) {
        String u = uri.endsWith("/") ? uri.substring(0, uri.length() - 1) : uri;
        return u.substring(u.lastIndexOf('/') + 1);
    }

    public List<String> taskNames() {
        return tasks.stream().map(Task::name).toList();
    }

    /** Images whose features one evaluation computes (over all workers). */
    public long images() {
        long n = 0;
        for (Task t : tasks) {
            for (BatchRef r : t.train()) {
                n += r.count();
            }
            for (BatchRef r : t.test()) {
                n += r.count();
            }
        }
        return n;
    }

    /** Features of batches {@code worker, worker + workers, ...} of all tasks and splits. */
    public List<Part> part(ComputationGraph net, int worker, int workers) throws IOException {
        try (FrozenKernels frozen = FrozenKernels.of(net)) {
            return features(net, worker, workers);
        }
    }

    private List<Part> features(ComputationGraph net, int worker, int workers) throws IOException {
        List<Part> out = new ArrayList<>();
        int index = 0;
        for (int t = 0; t < tasks.size(); t++) {
            Task task = tasks.get(t);
            for (int split = 0; split < 2; split++) {
                List<BatchRef> refs = split == 0 ? task.train() : task.test();
                for (int b = 0; b < refs.size(); b++, index++) {
                    if (index % workers != worker) {
                        continue;
                    }
                    io.bitspark.data.shards.BatchDecoder.Batch raw = task.loader().decode(refs.get(b));
                    INDArray x = ShardBatchLoader.features(raw);
                    INDArray f = BitOutputs.preLogits(net, x);
                    float[][] feats = new float[(int) f.size(0)][];
                    int[] labels = new int[feats.length];
                    for (int i = 0; i < feats.length; i++) {
                        feats[i] = f.getRow(i).toFloatVector();
                        labels[i] = raw.labels()[i][0]; // single-label data (checked when opened)
                    }
                    f.close();
                    x.close();
                    out.add(new Part(t, split == 1, b, feats, labels));
                }
            }
        }
        return out;
    }

    /** Probes fitted and scored from the parts of one evaluation. */
    public Map<String, Double> metrics(List<Part> parts) {
        Map<String, Double> out = new LinkedHashMap<>();
        List<Part> sorted = new ArrayList<>(parts);
        sorted.sort(Comparator.comparingInt(Part::task).thenComparing(Part::test).thenComparingInt(Part::batch));
        double[] sums = new double[shots.length];
        for (int t = 0; t < tasks.size(); t++) {
            List<float[]> trainX = new ArrayList<>();
            List<Integer> trainY = new ArrayList<>();
            List<float[]> testX = new ArrayList<>();
            List<Integer> testY = new ArrayList<>();
            for (Part p : sorted) {
                if (p.task() == t) {
                    for (int i = 0; i < p.labels().length; i++) {
                        (p.test() ? testX : trainX).add(p.features()[i]);
                        (p.test() ? testY : trainY).add(p.labels()[i]);
                    }
                }
            }
            Task task = tasks.get(t);
            float[][] tx = testX.toArray(new float[0][]);
            int[] ty = testY.stream().mapToInt(Integer::intValue).toArray();
            for (int s = 0; s < shots.length; s++) {
                double[] acc = new double[seeds];
                for (int r = 0; r < seeds; r++) {
                    int[] pick = draw(trainY, task.classes(), shots[s], seed + 1000L * r + shots[s]);
                    float[][] x = new float[pick.length][];
                    int[] y = new int[pick.length];
                    for (int i = 0; i < pick.length; i++) {
                        x[i] = trainX.get(pick[i]);
                        y[i] = trainY.get(pick[i]);
                    }
                    acc[r] = finite(x) ? RidgeProbe.fit(x, y, task.classes(), lambda).accuracy(tx, ty) : 0;
                }
                Arrays.sort(acc);
                double median = seeds % 2 == 1 ? acc[seeds / 2] : (acc[seeds / 2 - 1] + acc[seeds / 2]) / 2;
                out.put(String.format(Locale.ROOT, "fewshot_%s_%dshot", task.name(), shots[s]), median);
                sums[s] += median;
            }
        }
        for (int s = 0; s < shots.length; s++) {
            out.put(String.format(Locale.ROOT, "fewshot_%dshot", shots[s]), sums[s] / tasks.size());
        }
        return out;
    }

    private static boolean finite(float[][] x) {
        for (float[] row : x) {
            for (float v : row) {
                if (!Float.isFinite(v)) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Indices of {@code k} random training images per class (all of a class that has fewer). */
    static int[] draw(List<Integer> labels, int classes, int k, long seed) {
        List<List<Integer>> byClass = new ArrayList<>();
        for (int c = 0; c < classes; c++) {
            byClass.add(new ArrayList<>());
        }
        for (int i = 0; i < labels.size(); i++) {
            byClass.get(labels.get(i)).add(i);
        }
        Random rng = new Random(seed);
        List<Integer> out = new ArrayList<>();
        for (List<Integer> pool : byClass) {
            Collections.shuffle(pool, rng);
            out.addAll(pool.subList(0, Math.min(k, pool.size())));
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }
}
