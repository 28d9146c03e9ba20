package io.bitspark.data.prepare;

import java.io.Serializable;

import org.apache.spark.Partitioner;

/**
 * Position of a record in the shuffled output: {@code order = xxhash64(seed, key)} decides both the shard
 * ({@code order mod n}) and the place inside it (ascending order, then key), a seeded global shuffle that
 * depends only on keys and seed.
 */
record ShardOrder(long order, String key) implements Comparable<ShardOrder>, Serializable {

    @Override
    public int compareTo(ShardOrder o) {
        int c = Long.compare(order, o.order);
        return c != 0 ? c : key.compareTo(o.key);
    }

    /** Sends each record to shard {@code order mod n} exactly (hash partitioning of small ints would collide). */
    static final class ShardPartitioner extends Partitioner {
        private final int shards;

        ShardPartitioner(int shards) {
            this.shards = shards;
        }

        @Override
        public int numPartitions() {
            return shards;
        }

        @Override
        public int getPartition(Object k) {
            return (int) Math.floorMod(((ShardOrder) k).order(), (long) shards);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof ShardPartitioner p && p.shards == shards;
        }

        @Override
        public int hashCode() {
            return shards;
        }
    }
}
