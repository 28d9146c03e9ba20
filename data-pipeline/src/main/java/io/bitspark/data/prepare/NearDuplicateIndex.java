package io.bitspark.data.prepare;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.bitspark.data.image.PerceptualHash;

/**
 * Finds, for a 64-bit perceptual hash, an evaluation image within Hamming distance {@code d <= 7}: the hash
 * is split into 8 bytes and, by the pigeonhole principle, a match within 7 bits agrees exactly on at least
 * one byte, so only the evaluation hashes sharing a byte at the same position are compared.
 */
public final class NearDuplicateIndex implements Serializable {

    /** The largest distance the byte index finds every match within. */
    public static final int MAX_DISTANCE = 7;

    /** A match: the evaluation image's key and the distance. */
    public record Match(String evalKey, int distance) implements Serializable {}

    private final long[] hashes;
    private final String[] keys;
    private final int maxDistance;
    private final Map<Integer, int[]>[] buckets;

    @SuppressWarnings("unchecked")
    public NearDuplicateIndex(long[] hashes, String[] keys, int maxDistance) {
        if (maxDistance > MAX_DISTANCE) {
            throw new IllegalArgumentException("the byte index supports distances up to 7, got " + maxDistance);
        }
        this.hashes = hashes.clone();
        this.keys = keys.clone();
        this.maxDistance = maxDistance;
        this.buckets = new Map[8];
        for (int b = 0; b < 8; b++) {
            Map<Integer, List<Integer>> m = new HashMap<>();
            for (int i = 0; i < hashes.length; i++) {
                m.computeIfAbsent((int) ((hashes[i] >>> (8 * b)) & 0xff), k -> new ArrayList<>()).add(i);
            }
            Map<Integer, int[]> packed = new HashMap<>();
            m.forEach((k, v) -> packed.put(k, v.stream().mapToInt(Integer::intValue).toArray()));
            buckets[b] = packed;
        }
    }

    public int size() {
        return hashes.length;
    }

    /** The closest evaluation image within the distance, or null. */
    public Match find(long hash) {
        int best = Integer.MAX_VALUE;
        int bestIdx = -1;
        for (int b = 0; b < 8; b++) {
            int[] cands = buckets[b].get((int) ((hash >>> (8 * b)) & 0xff));
            if (cands == null) {
                continue;
            }
            for (int i : cands) {
                int d = PerceptualHash.distance(hash, hashes[i]);
                if (d < best) {
                    best = d;
                    bestIdx = i;
                }
            }
        }
        return best <= maxDistance ? new Match(keys[bestIdx], best) : null;
    }
}
