package io.bitspark.data.shards;

import java.io.Serializable;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;


/**
 * A batch as row ranges of shards plus the epoch (which seeds augmentation). As dl4j-spark passes it to a
 * loader it is a valid URI (the first shard, so that the Spark module can resolve its file system) with the
 * ranges in the fragment:
 * {@code hdfs://nn/data/train/train-00003-of-00040.parquet#epoch=7&r=hdfs%3A%2F%2Fnn%2F...parquet,1280,128}.
 */
public record BatchRef(List<Range> ranges, long epoch) implements Serializable {

    /** Rows {@code [from, from + count)} of a shard. */
    public record Range(String shard, long from, int count) implements Serializable {}

    public BatchRef {
        if (ranges.isEmpty()) {
            throw new IllegalArgumentException("a batch needs at least one row range");
        }
        ranges = List.copyOf(ranges);
    }

    public BatchRef(String shard, long from, int count, long epoch) {
        this(List.of(new Range(shard, from, count)), epoch);
    }

    /** Rows in the batch. */
    public int count() {
        int n = 0;
        for (Range r : ranges) {
            n += r.count();
        }
        return n;
    }

    public String encode() {
        StringBuilder b = new StringBuilder(ranges.get(0).shard()).append("#epoch=").append(epoch);
        for (Range r : ranges) {
            b.append("&r=").append(URLEncoder.encode(r.shard(), StandardCharsets.UTF_8)).append(',').append(r.from())
                    .append(',').append(r.count());
        }
        return b.toString();
    }

    public static BatchRef decode(String s) {
        int hash = s.indexOf('#');
        if (hash < 0) {
            throw new IllegalArgumentException("not a batch reference: " + s);
        }
        long epoch = -1;
        List<Range> ranges = new ArrayList<>();
        for (String kv : s.substring(hash + 1).split("&")) {
            String[] p = kv.split("=", 2);
            switch (p[0]) {
                case "epoch" -> epoch = Long.parseLong(p[1]);
                case "r" -> {
                    String[] f = p[1].split(",");
                    if (f.length != 3) {
                        throw new IllegalArgumentException("malformed row range '" + p[1] + "' in batch reference " + s);
                    }
                    ranges.add(new Range(URLDecoder.decode(f[0], StandardCharsets.UTF_8), Long.parseLong(f[1]), Integer.parseInt(f[2])));
                }
                default -> throw new IllegalArgumentException("unknown field '" + p[0] + "' in batch reference " + s);
            }
        }
        if (epoch < 0 || ranges.isEmpty() || ranges.stream().anyMatch(r -> r.from() < 0 || r.count() < 1)) {
            throw new IllegalArgumentException("incomplete batch reference " + s);
        }
        return new BatchRef(ranges, epoch);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%d rows of epoch %d from %s", count(), epoch, ranges);
    }
}
