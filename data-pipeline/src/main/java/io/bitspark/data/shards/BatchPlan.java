package io.bitspark.data.shards;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Which rows make up the global batch of each step, as a pure function of (shard row counts, global batch,
 * seed, step): the same whatever the number of workers, so a run can continue on another cluster size.
 * Each shard yields {@code floor(rows / unit)} contiguous pieces of {@code unit} rows per epoch, starting at
 * an offset drawn from its slack ({@code rows mod unit}); the pieces of all shards are shuffled, and each global
 * step takes {@code globalBatch / unit} consecutive pieces. A worker's share (and a micro-batch of it) is a
 * contiguous run of rows of that batch, so it is read as a few contiguous row ranges. Shards are globally
 * shuffled by prepare, so a contiguous run of rows is a random sample.
 */
public final class BatchPlan implements Serializable {

    /** Rows {@code [from, from + count)} of shard {@code shard} (an index into the plan's shard list). */
    public record Piece(int shard, long from, int count) implements Serializable {}

    /** Largest piece: reads stay large, and a batch of 4096 still mixes 64 places of the data set. */
    public static final int MAX_UNIT = 64;

    private final List<String> shards;
    private final long[] rows;
    private final int globalBatch;
    private final int unit;
    private final long seed;
    private final long stepsPerEpoch;
    private transient long cachedEpoch = -1;
    private transient List<Piece> cached;

    public BatchPlan(List<String> shards, long[] rows, int globalBatch, long seed) {
        this(shards, rows, globalBatch, unitFor(globalBatch), seed);
    }

    public BatchPlan(List<String> shards, long[] rows, int globalBatch, int unit, long seed) {
        if (shards.size() != rows.length) {
            throw new IllegalArgumentException("one row count per shard");
        }
        if (globalBatch < 1 || unit < 1 || globalBatch % unit != 0) {
            throw new IllegalArgumentException("the global batch (" + globalBatch + ") must be a positive multiple of the piece size ("
                    + unit + ")");
        }
        this.shards = List.copyOf(shards);
        this.rows = rows.clone();
        this.globalBatch = globalBatch;
        this.unit = unit;
        this.seed = seed;
        long pieces = 0;
        for (long r : rows) {
            pieces += r / unit;
        }
        this.stepsPerEpoch = pieces / (globalBatch / unit);
        if (stepsPerEpoch < 1) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "the data gives no full step: %d rows in %d shards for a global batch of %d", sum(rows), rows.length, globalBatch));
        }
    }

    /** The piece size for a global batch: the largest divisor of it up to {@link #MAX_UNIT} that is a power of two. */
    public static int unitFor(int globalBatch) {
        int u = 1;
        while (u < MAX_UNIT && globalBatch % (u * 2) == 0) {
            u *= 2;
        }
        return u;
    }

    private static long sum(long[] a) {
        long s = 0;
        for (long x : a) {
            s += x;
        }
        return s;
    }

    public List<String> shards() {
        return shards;
    }

    public long stepsPerEpoch() {
        return stepsPerEpoch;
    }

    public int globalBatch() {
        return globalBatch;
    }

    public int unit() {
        return unit;
    }

    /** All pieces of an epoch in training order (whole steps only; the rest of the shuffle is dropped). */
    public List<Piece> epoch(long epoch) {
        Random rng = new Random(seed * 0x9E3779B97F4A7C15L + epoch * 0xC2B2AE3D27D4EB4FL + 1);
        List<Piece> all = new ArrayList<>();
        for (int s = 0; s < rows.length; s++) {
            long n = rows[s] / unit;
            long slack = rows[s] - n * unit;
            long offset = slack == 0 ? 0 : (long) rng.nextInt((int) Math.min(Integer.MAX_VALUE - 1, slack) + 1);
            for (long i = 0; i < n; i++) {
                all.add(new Piece(s, offset + i * unit, unit));
            }
        }
        Collections.shuffle(all, rng);
        return new ArrayList<>(all.subList(0, (int) (stepsPerEpoch * (globalBatch / unit))));
    }

    /** The pieces of global step {@code step} (epoch = step / stepsPerEpoch), {@code globalBatch} rows in all. */
    public synchronized List<Piece> step(long step) {
        long epoch = step / stepsPerEpoch;
        int per = globalBatch / unit;
        int i = (int) (step % stepsPerEpoch);
        if (cached == null || cachedEpoch != epoch) {
            cached = epoch(epoch);
            cachedEpoch = epoch;
        }
        return List.copyOf(cached.subList(i * per, (i + 1) * per));
    }

    /** Rows {@code [from, from + count)} of step {@code step}'s batch, as contiguous ranges (adjacent ones merged). */
    public List<Piece> rows(long step, int from, int count) {
        if (from < 0 || count < 1 || from + count > globalBatch) {
            throw new IllegalArgumentException("rows " + from + ".." + (from + count) + " outside a global batch of " + globalBatch);
        }
        List<Piece> out = new ArrayList<>();
        int pos = 0;
        for (Piece p : step(step)) {
            int lo = Math.max(from, pos);
            int hi = Math.min(from + count, pos + p.count());
            if (lo < hi) {
                Piece part = new Piece(p.shard(), p.from() + (lo - pos), hi - lo);
                Piece last = out.isEmpty() ? null : out.get(out.size() - 1);
                if (last != null && last.shard() == part.shard() && last.from() + last.count() == part.from()) {
                    out.set(out.size() - 1, new Piece(last.shard(), last.from(), last.count() + part.count()));
                } else {
                    out.add(part);
                }
            }
            pos += p.count();
        }
        return out;
    }

    /** The epoch of a global step: it seeds the step's augmentation. */
    public long epochOf(long step) {
        return step / stepsPerEpoch;
    }

    /** Rows {@code [from, from + count)} of step {@code step}'s batch as a reference to read: shard URIs and the epoch. */
    public BatchRef batch(long step, int from, int count) {
        return ref(rows(step, from, count), step);
    }

    /** As {@link #share}, as a reference to read. */
    public BatchRef shareBatch(long step, int worker, int workers, int micro, int micros) {
        return ref(share(step, worker, workers, micro, micros), step);
    }

    private BatchRef ref(List<Piece> pieces, long step) {
        List<BatchRef.Range> r = new ArrayList<>(pieces.size());
        for (Piece p : pieces) {
            r.add(new BatchRef.Range(shards.get(p.shard()), p.from(), p.count()));
        }
        return new BatchRef(r, epochOf(step));
    }

    /**
     * Micro-batch {@code micro} of {@code micros} of worker {@code worker}'s share among {@code workers}: the
     * global batch is cut into {@code workers * micros} equal consecutive runs of rows.
     */
    public List<Piece> share(long step, int worker, int workers, int micro, int micros) {
        int parts = workers * micros;
        if (globalBatch % parts != 0) {
            throw new IllegalArgumentException("a global batch of " + globalBatch + " does not split into " + workers
                    + " workers x " + micros + " micro-batches");
        }
        int size = globalBatch / parts;
        return rows(step, (worker * micros + micro) * size, size);
    }
}
