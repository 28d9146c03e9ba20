package io.bitspark.data.shards;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Which rows make up each batch of each epoch, as a pure function of (shard row counts, batch size,
 * workers, seed, epoch). Each shard yields {@code floor(rows / b)} contiguous batches per epoch, starting at
 * an offset drawn from its slack ({@code rows mod b}), so every epoch has the same number of steps; the
 * batches of all shards are then shuffled and taken {@code workers} at a time for each global step.
 * Shards are globally shuffled by prepare, so a contiguous run of rows is a random sample.
 */
public final class BatchPlan implements Serializable {

    /** Rows {@code [from, from + count)} of shard {@code shard} (an index into the plan's shard list). */
    public record Batch(int shard, long from, int count) implements Serializable {}

    private final List<String> shards;
    private final long[] rows;
    private final int batchSize;
    private final int workers;
    private final long seed;
    private final long stepsPerEpoch;
    private transient long cachedEpoch = -1;
    private transient List<Batch> cached;

    public BatchPlan(List<String> shards, long[] rows, int batchSize, int workers, long seed) {
        if (shards.size() != rows.length) {
            throw new IllegalArgumentException("one row count per shard");
        }
        if (batchSize < 1 || workers < 1) {
            throw new IllegalArgumentException("batch size and workers must be positive");
        }
        this.shards = List.copyOf(shards);
        this.rows = rows.clone();
        this.batchSize = batchSize;
        this.workers = workers;
        this.seed = seed;
        long batches = 0;
        for (long r : rows) {
            batches += r / batchSize;
        }
        this.stepsPerEpoch = batches / workers;
        if (stepsPerEpoch < 1) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "the data gives no full step: %d batches of %d per epoch for %d workers", batches, batchSize, workers));
        }
    }

    public List<String> shards() {
        return shards;
    }

    public long stepsPerEpoch() {
        return stepsPerEpoch;
    }

    public int batchSize() {
        return batchSize;
    }

    public int workers() {
        return workers;
    }

    /** All batches of an epoch in training order (a multiple of workers; the rest of the shuffle is dropped). */
    public List<Batch> epoch(long epoch) {
        Random rng = new Random(seed * 0x9E3779B97F4A7C15L + epoch * 0xC2B2AE3D27D4EB4FL + 1);
        List<Batch> all = new ArrayList<>();
        for (int s = 0; s < rows.length; s++) {
            long n = rows[s] / batchSize;
            long slack = rows[s] - n * batchSize;
            long offset = slack == 0 ? 0 : (long) rng.nextInt((int) Math.min(Integer.MAX_VALUE - 1, slack) + 1);
            for (long i = 0; i < n; i++) {
                all.add(new Batch(s, offset + i * batchSize, batchSize));
            }
        }
        Collections.shuffle(all, rng);
        return new ArrayList<>(all.subList(0, (int) (stepsPerEpoch * workers)));
    }

    /** The {@code workers} batches of global step {@code step} (epoch = step / stepsPerEpoch). */
    public synchronized List<Batch> step(long step) {
        long epoch = step / stepsPerEpoch;
        int i = (int) (step % stepsPerEpoch);
        if (cached == null || cachedEpoch != epoch) {
            cached = epoch(epoch);
            cachedEpoch = epoch;
        }
        return List.copyOf(cached.subList(i * workers, (i + 1) * workers));
    }
}
