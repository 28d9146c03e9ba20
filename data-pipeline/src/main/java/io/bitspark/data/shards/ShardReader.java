package io.bitspark.data.shards;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.convert.GroupRecordConverter;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.io.ColumnIOFactory;
import org.apache.parquet.io.MessageColumnIO;
import org.apache.parquet.io.RecordReader;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.Type;

import io.bitspark.data.manifest.DatasetManifest;

/**
 * Reads a range of rows of one shard, touching only the row groups that hold them (prepare writes small
 * row groups for this), and only the columns training needs: key, image and labels. No Spark needed, so
 * executors' data loaders and single-process tools use it alike.
 */
public final class ShardReader {

    /** One training example as stored: key, JPEG bytes, class ids. */
    public record Example(String key, byte[] jpeg, int[] labels) {}

    private ShardReader() {}

    /** Row counts of the shard's row groups, from its footer. */
    public static long[] rowGroups(Configuration conf, String shard) throws IOException {
        try (ParquetFileReader r = ParquetFileReader.open(HadoopInputFile.fromPath(new Path(shard), conf))) {
            List<BlockMetaData> blocks = r.getFooter().getBlocks();
            long[] rows = new long[blocks.size()];
            for (int i = 0; i < rows.length; i++) {
                rows[i] = blocks.get(i).getRowCount();
            }
            return rows;
        }
    }

    /** Rows {@code [from, from + count)} of a shard, in shard order. */
    public static List<Example> read(Configuration conf, String shard, long from, int count) throws IOException {
        List<Example> out = new ArrayList<>(count);
        try (ParquetFileReader r = ParquetFileReader.open(HadoopInputFile.fromPath(new Path(shard), conf))) {
            MessageType file = r.getFooter().getFileMetaData().getSchema();
            List<Type> fields = new ArrayList<>();
            for (String name : new String[] {DatasetManifest.COL_KEY, DatasetManifest.COL_IMAGE, DatasetManifest.COL_LABELS}) {
                if (!file.containsField(name)) {
                    throw new IOException(shard + ": not a bit shard (no column '" + name + "')");
                }
                fields.add(file.getType(name));
            }
            MessageType projection = new MessageType(file.getName(), fields);
            r.setRequestedSchema(projection);
            List<BlockMetaData> blocks = r.getFooter().getBlocks();
            long start = 0;
            long end = from + count;
            for (int b = 0; b < blocks.size() && start < end; b++) {
                long rows = blocks.get(b).getRowCount();
                if (start + rows <= from) {
                    r.skipNextRowGroup();
                    start += rows;
                    continue;
                }
                PageReadStore pages = r.readNextRowGroup();
                MessageColumnIO io = new ColumnIOFactory().getColumnIO(projection);
                RecordReader<Group> rr = io.getRecordReader(pages, new GroupRecordConverter(projection));
                for (long i = 0; i < rows; i++) {
                    Group g = rr.read();
                    long row = start + i;
                    if (row >= from && row < end) {
                        out.add(example(g));
                    }
                }
                start += rows;
            }
        }
        if (out.size() != count) {
            throw new IOException(shard + ": rows " + from + ".." + (from + count) + " requested, " + out.size() + " found");
        }
        return out;
    }

    /** Spark writes array<int> as a three-level LIST: labels.list[].element. */
    private static Example example(Group g) {
        String key = g.getString(DatasetManifest.COL_KEY, 0);
        byte[] jpeg = g.getBinary(DatasetManifest.COL_IMAGE, 0).getBytes();
        int[] labels;
        if (g.getFieldRepetitionCount(DatasetManifest.COL_LABELS) == 0) {
            labels = new int[0];
        } else {
            Group list = g.getGroup(DatasetManifest.COL_LABELS, 0);
            int n = list.getFieldRepetitionCount(0);
            labels = new int[n];
            for (int i = 0; i < n; i++) {
                labels[i] = list.getGroup(0, i).getInteger(0, 0);
            }
        }
        return new Example(key, jpeg, labels);
    }
}
