package io.bitspark.jobs.pretrain;

import java.util.Locale;

/**
 * A batch reference as dl4j-spark passes it to a loader: a valid URI (the shard, so that the Spark module
 * can resolve its file system) with the rows and the epoch in the fragment:
 * {@code hdfs://nn/data/train/train-00003-of-00040.parquet#from=1280&n=128&epoch=7}.
 */
public record BatchRef(String shard, long from, int count, long epoch) {

    public String encode() {
        return String.format(Locale.ROOT, "%s#from=%d&n=%d&epoch=%d", shard, from, count, epoch);
    }

    public static BatchRef decode(String s) {
        int hash = s.lastIndexOf('#');
        if (hash < 0) {
            throw new IllegalArgumentException("not a batch reference: " + s);
        }
        long from = -1;
        int n = -1;
        long epoch = -1;
        for (String kv : s.substring(hash + 1).split("&")) {
            String[] p = kv.split("=", 2);
            switch (p[0]) {
                case "from" -> from = Long.parseLong(p[1]);
                case "n" -> n = Integer.parseInt(p[1]);
                case "epoch" -> epoch = Long.parseLong(p[1]);
                default -> throw new IllegalArgumentException("unknown field '" + p[0] + "' in batch reference " + s);
            }
        }
        if (from < 0 || n < 1 || epoch < 0) {
            throw new IllegalArgumentException("incomplete batch reference " + s);
        }
        return new BatchRef(s.substring(0, hash), from, n, epoch);
    }
}
