package io.bitspark.data.prepare;

import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import io.bitspark.data.manifest.DatasetManifest;

/**
 * Schemas of the two intermediate tables of {@code prepare}: input references (what to read) and processed
 * records (an image or a rejection, one per input).
 */
public final class Refs {

    /** A file to read. */
    public static final String FILE = "file";
    /** Bytes carried in the reference itself (manifests with inline images). */
    public static final String INLINE = "inline";
    /** A tar (or a tar inside a tar, at an offset) whose entries are images of one label. */
    public static final String TAR = "tar";
    /**
     * An input rejected while listing (a manifest path outside the data roots, an unlistable directory): {@code uri}
     * names it, {@code bytes} holds "REASON\ndetail" in UTF-8. It becomes a rejection without being read.
     */
    public static final String REJECTED = "rejected";

    /** The {@code bytes} of a {@link #REJECTED} reference. */
    public static byte[] rejection(io.bitspark.data.image.RejectReason reason, String detail) {
        return (reason.name() + "\n" + detail).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * kind, key (a file's key; for a tar the key prefix), uri, labels (names), bytes (inline), offset and
     * length (of a tar inside its container; -1 for a whole file). For file and inline references from a
     * manifest, offset holds the row's ordinal, which orders records that share a key.
     */
    public static final StructType REF = new StructType(new StructField[] {
            DataTypes.createStructField("kind", DataTypes.StringType, false),
            DataTypes.createStructField("key", DataTypes.StringType, false),
            DataTypes.createStructField("uri", DataTypes.StringType, true),
            DataTypes.createStructField("labels", DataTypes.createArrayType(DataTypes.StringType, false), true),
            DataTypes.createStructField("bytes", DataTypes.BinaryType, true),
            DataTypes.createStructField("offset", DataTypes.LongType, false),
            DataTypes.createStructField("length", DataTypes.LongType, false),
    });

    /**
     * Processed record; {@code reason} is null for images that go to the shards. {@code ordinal} orders
     * records with the same key (manifest row, tar entry index), so "first occurrence" is well defined.
     */
    public static final StructType PROCESSED = new StructType(new StructField[] {
            DataTypes.createStructField(DatasetManifest.COL_KEY, DataTypes.StringType, false),
            DataTypes.createStructField(DatasetManifest.COL_SOURCE, DataTypes.StringType, false),
            DataTypes.createStructField(DatasetManifest.COL_LABELS, DataTypes.createArrayType(DataTypes.IntegerType, false), true),
            DataTypes.createStructField(DatasetManifest.COL_IMAGE, DataTypes.BinaryType, true),
            DataTypes.createStructField(DatasetManifest.COL_WIDTH, DataTypes.IntegerType, false),
            DataTypes.createStructField(DatasetManifest.COL_HEIGHT, DataTypes.IntegerType, false),
            DataTypes.createStructField(DatasetManifest.COL_SRC_WIDTH, DataTypes.IntegerType, false),
            DataTypes.createStructField(DatasetManifest.COL_SRC_HEIGHT, DataTypes.IntegerType, false),
            DataTypes.createStructField(DatasetManifest.COL_PHASH, DataTypes.LongType, false),
            DataTypes.createStructField("reason", DataTypes.StringType, true),
            DataTypes.createStructField("detail", DataTypes.StringType, true),
            DataTypes.createStructField("ordinal", DataTypes.LongType, false),
    });

    private Refs() {}

    /** A Java list as the Scala sequence that Spark's row encoders expect for array columns. */
    public static <T> scala.collection.Seq<T> seq(java.util.List<T> list) {
        return list == null ? null : scala.collection.JavaConverters.asScalaBufferConverter(list).asScala().toSeq();
    }
}
