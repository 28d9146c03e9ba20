package io.bitspark.jobs.transfer;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.apache.hadoop.conf.Configuration;

import io.bitspark.data.shards.PreparedDataset;
import io.bitspark.data.shards.ShardReader;

/**
 * One split of a prepared data set held in memory as stored JPEGs: the few-shot and small transfer sets
 * that one process fine-tunes on. Decoding happens per step, so memory is the compressed size.
 */
public record InMemoryDataset(List<ShardReader.Example> rows, List<String> classNames, boolean multiLabel,
                              String manifestHash, int medianWidth, int medianHeight) {

    public int classes() {
        return classNames.size();
    }

    public int size() {
        return rows.size();
    }

    /** Loads {@code split} ("train" or "holdout") of the data set at {@code uri}. */
    public static InMemoryDataset load(String uri, String split, Configuration conf) throws IOException {
        PreparedDataset d = PreparedDataset.open(uri, conf);
        PreparedDataset.Split sp = PreparedDataset.Split.parse(split);
        List<ShardReader.Example> rows = new ArrayList<>();
        for (int i = 0; i < d.shards(sp).size(); i++) {
            rows.addAll(ShardReader.read(conf, d.shardUris(sp).get(i), 0, Math.toIntExact(d.shards(sp).get(i).rows())));
        }
        if (rows.isEmpty()) {
            throw new IllegalArgumentException(uri + ": the " + split + " split is empty");
        }
        int[] size = medianSize(rows);
        return new InMemoryDataset(rows, d.classNames(), d.multiLabel(), d.manifestHash(), size[0], size[1]);
    }

    /** Median stored image size of up to 100 rows, for the HyperRule's resolution rule. */
    static int[] medianSize(List<ShardReader.Example> rows) throws IOException {
        List<Integer> w = new ArrayList<>();
        List<Integer> h = new ArrayList<>();
        for (int i = 0; i < Math.min(100, rows.size()); i++) {
            java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(new ByteArrayInputStream(rows.get(i).jpeg()));
            if (img != null) {
                w.add(img.getWidth());
                h.add(img.getHeight());
            }
        }
        w.sort(Integer::compare);
        h.sort(Integer::compare);
        return new int[] {w.get(w.size() / 2), h.get(h.size() / 2)};
    }

    /** {@code k} examples of every class, drawn with {@code seed}; a class with fewer is an error naming it. */
    public InMemoryDataset sample(int k, long seed) {
        List<List<ShardReader.Example>> byClass = new ArrayList<>();
        for (int c = 0; c < classes(); c++) {
            byClass.add(new ArrayList<>());
        }
        for (ShardReader.Example e : rows) {
            if (e.labels().length > 0) {
                byClass.get(e.labels()[0]).add(e);
            }
        }
        Random rng = new Random(seed);
        List<ShardReader.Example> out = new ArrayList<>();
        for (int c = 0; c < classes(); c++) {
            List<ShardReader.Example> pool = new ArrayList<>(byClass.get(c));
            if (pool.size() < k) {
                throw new IllegalArgumentException("class '" + classNames.get(c) + "' has " + pool.size() + " examples, fewer than " + k + " shots");
            }
            java.util.Collections.shuffle(pool, rng);
            out.addAll(pool.subList(0, k));
        }
        return new InMemoryDataset(out, classNames, multiLabel, manifestHash, medianWidth, medianHeight);
    }

    /**
     * A seeded random split: {@code first} examples, then the rest (VTAB-1k's 800/200 split of a task's 1000
     * training examples for hyper-parameter selection).
     */
    public InMemoryDataset[] split(int first, long seed) {
        if (first < 1 || first >= rows.size()) {
            throw new IllegalArgumentException("cannot split " + rows.size() + " examples into " + first + " and the rest");
        }
        List<ShardReader.Example> shuffled = new ArrayList<>(rows);
        java.util.Collections.shuffle(shuffled, new Random(seed));
        return new InMemoryDataset[] {
                new InMemoryDataset(List.copyOf(shuffled.subList(0, first)), classNames, multiLabel, manifestHash, medianWidth, medianHeight),
                new InMemoryDataset(List.copyOf(shuffled.subList(first, shuffled.size())), classNames, multiLabel, manifestHash,
                        medianWidth, medianHeight)};
    }

    public InMemoryDataset firstN(int n) {
        return n <= 0 || n >= rows.size() ? this
                : new InMemoryDataset(rows.subList(0, n), classNames, multiLabel, manifestHash, medianWidth, medianHeight);
    }

    /**
     * Refuses to compare predictions across two class indices that differ (labels would be silently misaligned):
     * {@code expected} (a checkpoint's or a training set's class names, in index order) against this data set's.
     */
    public void requireClasses(List<String> expected, String expectedWhat, String thisWhat) {
        if (expected == null || expected.equals(classNames)) {
            return;
        }
        int at = 0;
        while (at < Math.min(expected.size(), classNames.size()) && expected.get(at).equals(classNames.get(at))) {
            at++;
        }
        String where = at < Math.min(expected.size(), classNames.size())
                ? "class " + at + " is '" + expected.get(at) + "' there and '" + classNames.get(at) + "' here"
                : expected.size() + " classes there, " + classNames.size() + " here";
        throw new IllegalArgumentException("the classes of " + thisWhat + " differ from those of " + expectedWhat + " (" + where + "; "
                + expected.size() + " vs " + classNames.size() + " names): prepare it with --class-names listing the classes in "
                + "that order, or fine-tune on it");
    }
}
