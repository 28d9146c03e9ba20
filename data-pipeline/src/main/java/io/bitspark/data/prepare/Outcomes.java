package io.bitspark.data.prepare;

import java.io.Serializable;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import org.apache.spark.sql.Row;

/** Counts of one pass over processed records: per reason, per split (rows and bytes), per class. */
final class Outcomes implements Serializable {

    long inputs;
    long rejected;
    long trainRows;
    long holdoutRows;
    long trainBytes;
    long holdoutBytes;
    final Map<String, Long> rejects = new HashMap<>();
    final Map<Integer, Long> perClass = new HashMap<>();

    static Iterator<Outcomes> of(Iterator<Row> rows) {
        Outcomes o = new Outcomes();
        while (rows.hasNext()) {
            Row r = rows.next();
            o.inputs++;
            if (!r.isNullAt(9)) {
                o.rejected++;
                o.rejects.merge(r.getString(9), 1L, Long::sum);
                continue;
            }
            long bytes = ((byte[]) r.get(3)).length;
            if (r.getBoolean(12)) {
                o.holdoutRows++;
                o.holdoutBytes += bytes;
            } else {
                o.trainRows++;
                o.trainBytes += bytes;
            }
            List<Integer> labels = r.getList(2);
            for (Integer c : labels) {
                o.perClass.merge(c, 1L, Long::sum);
            }
        }
        return List.of(o).iterator();
    }

    static Outcomes merge(Outcomes a, Outcomes b) {
        Outcomes o = new Outcomes();
        for (Outcomes x : new Outcomes[] {a, b}) {
            o.inputs += x.inputs;
            o.rejected += x.rejected;
            o.trainRows += x.trainRows;
            o.holdoutRows += x.holdoutRows;
            o.trainBytes += x.trainBytes;
            o.holdoutBytes += x.holdoutBytes;
            x.rejects.forEach((k, v) -> o.rejects.merge(k, v, Long::sum));
            x.perClass.forEach((k, v) -> o.perClass.merge(k, v, Long::sum));
        }
        return o;
    }
}
