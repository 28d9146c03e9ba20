package io.bitspark.data.prepare;

import java.util.Iterator;
import java.util.NoSuchElementException;

import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import io.bitspark.data.image.RejectReason;

/**
 * Over records sorted by (key, ordinal, source): rejects every occurrence of a key after the first as a duplicate,
 * and kept images that are near-duplicates of an evaluation image. Streams; holds one key at a time.
 */
final class MarkDuplicates implements MapPartitionsFunction<Row, Row> {

    /** {@link Refs#PROCESSED} plus the boolean {@code _holdout}. */
    static final StructType SCHEMA = Refs.PROCESSED.add("_holdout", DataTypes.BooleanType, false);

    private final Broadcast<NearDuplicateIndex> evaluation;

    MarkDuplicates(Broadcast<NearDuplicateIndex> evaluation) {
        this.evaluation = evaluation;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        NearDuplicateIndex index = evaluation == null ? null : evaluation.value();
        return new Iterator<>() {
            String lastKey;

            @Override
            public boolean hasNext() {
                return rows.hasNext();
            }

            @Override
            public Row next() {
                if (!rows.hasNext()) {
                    throw new NoSuchElementException();
                }
                Row r = rows.next();
                String key = r.getString(0);
                boolean duplicate = key.equals(lastKey);
                lastKey = key;
                if (duplicate) {
                    return with(r, RejectReason.DUPLICATE_KEY, "another input has this key");
                }
                if (index != null && r.isNullAt(9)) {
                    NearDuplicateIndex.Match m = index.find(r.getLong(8));
                    if (m != null) {
                        return with(r, RejectReason.NEAR_DUPLICATE_OF_EVAL, "pHash distance " + m.distance() + " to " + m.evalKey());
                    }
                }
                return r;
            }
        };
    }

    private static Row with(Row r, RejectReason reason, String detail) {
        Object[] v = new Object[r.length()];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.get(i);
        }
        if (v[9] == null) {
            v[3] = null;
            v[9] = reason.name();
            v[10] = detail;
        } else if (reason == RejectReason.DUPLICATE_KEY) {
            // Already rejected for another reason: keep that reason, note the duplicate.
            v[10] = v[10] + "; also a duplicate key";
        }
        return RowFactory.create(v);
    }
}
