package io.bitspark.data.prepare;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.utils.BoundedInputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.LongAccumulator;
import org.apache.spark.util.SerializableConfiguration;

import io.bitspark.data.image.ImageProcessor;
import io.bitspark.data.image.RejectReason;

/**
 * Executor side of {@code prepare}: reads each referenced input (file, inline bytes, or every entry of a
 * tar), resolves its labels against the class index, and processes the image. Emits exactly one processed
 * record per input, so nothing is dropped silently: labels are checked before decoding, read failures and
 * unreadable tar remainders become rejections too.
 */
final class ProcessPartition implements MapPartitionsFunction<Row, Row> {

    private final ImageProcessor.Config imageConfig;
    private final Broadcast<Map<String, Integer>> classIndex;
    private final Broadcast<SerializableConfiguration> hadoopConf;
    private final LongAccumulator done;
    private final DataRoots roots;

    ProcessPartition(ImageProcessor.Config imageConfig, Broadcast<Map<String, Integer>> classIndex,
                     Broadcast<SerializableConfiguration> hadoopConf, LongAccumulator done) {
        this(imageConfig, classIndex, hadoopConf, done, null);
    }

    /** {@code roots}: where files may be read from (manifests), or null (listed inputs). */
    ProcessPartition(ImageProcessor.Config imageConfig, Broadcast<Map<String, Integer>> classIndex,
                     Broadcast<SerializableConfiguration> hadoopConf, LongAccumulator done, DataRoots roots) {
        this.imageConfig = imageConfig;
        this.classIndex = classIndex;
        this.hadoopConf = hadoopConf;
        this.done = done;
        this.roots = roots;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> refs) {
        ImageProcessor processor = new ImageProcessor(imageConfig);
        Configuration conf = hadoopConf.value().value();
        Map<String, Integer> index = classIndex.value();
        List<Row> out = new ArrayList<>();
        // A lazily expanding iterator would keep memory flat for huge tars; shards of one synset are bounded
        // (ImageNet-21k's largest synset tar holds ~3000 images), so a per-ref buffer is fine.
        return new Iterator<>() {
            int pos = 0;

            @Override
            public boolean hasNext() {
                while (pos >= out.size()) {
                    if (!refs.hasNext()) {
                        return false;
                    }
                    out.clear();
                    pos = 0;
                    expand(refs.next(), processor, conf, index, out);
                }
                return true;
            }

            @Override
            public Row next() {
                if (!hasNext()) {
                    throw new java.util.NoSuchElementException();
                }
                return out.get(pos++);
            }
        };
    }

    private void expand(Row ref, ImageProcessor processor, Configuration conf, Map<String, Integer> index, List<Row> out) {
        String kind = ref.getString(0);
        String key = ref.getString(1);
        String uri = ref.isNullAt(2) ? null : ref.getString(2);
        List<String> labels = ref.isNullAt(3) ? List.of() : ref.getList(3);
        long ordinal = ref.getLong(5);
        switch (kind) {
            case Refs.FILE -> {
                String source = uri;
                LabelCheck lc = resolve(labels, index);
                if (lc.reason != null) {
                    out.add(reject(key, source, lc.labels, lc.reason, lc.detail, ordinal));
                } else {
                    long len = ref.getLong(6);
                    String linked = roots == null ? null : roots.outsideAfterLinks(uri);
                    if (linked != null) {
                        out.add(reject(key, source, lc.labels, RejectReason.OUTSIDE_DATA_ROOT, linked, ordinal));
                    } else if (len > imageConfig.maxBytes()) {
                        out.add(reject(key, source, lc.labels, RejectReason.TOO_LARGE, len + " bytes > limit " + imageConfig.maxBytes(), ordinal));
                    } else {
                        byte[] bytes;
                        // At most one byte more than the limit is read, whatever the stream claims (or does not say).
                        int cap = (int) Math.min(Integer.MAX_VALUE - 16, imageConfig.maxBytes() + 1);
                        try (FSDataInputStream in = FileSystem.get(new Path(uri).toUri(), conf).open(new Path(uri))) {
                            bytes = in.readNBytes(cap);
                        } catch (IOException | RuntimeException e) {
                            out.add(reject(key, source, lc.labels, RejectReason.READ_ERROR, oneLine(e), ordinal));
                            done.add(1);
                            return;
                        }
                        if (bytes.length > imageConfig.maxBytes()) {
                            out.add(reject(key, source, lc.labels, RejectReason.TOO_LARGE, "more than " + imageConfig.maxBytes()
                                    + " bytes (reading stopped at the limit)", ordinal));
                        } else {
                            out.add(process(processor, key, source, lc.labels, bytes, ordinal));
                        }
                    }
                }
                done.add(1);
            }
            case Refs.INLINE -> {
                LabelCheck lc = resolve(labels, index);
                String source = uri != null ? uri : "inline:" + key;
                out.add(lc.reason != null ? reject(key, source, lc.labels, lc.reason, lc.detail, ordinal)
                        : process(processor, key, source, lc.labels, ref.isNullAt(4) ? new byte[0] : (byte[]) ref.get(4), ordinal));
                done.add(1);
            }
            case Refs.TAR -> expandTar(ref, key, uri, labels, processor, conf, index, out);
            case Refs.REJECTED -> {
                String[] why = new String(ref.isNullAt(4) ? new byte[0] : (byte[]) ref.get(4), java.nio.charset.StandardCharsets.UTF_8)
                        .split("\n", 2);
                out.add(reject(key, uri == null ? key : uri, resolve(labels, index).labels, RejectReason.valueOf(why[0]),
                        why.length > 1 ? why[1] : "", ordinal));
                done.add(1);
            }
            default -> throw new IllegalStateException("unknown reference kind " + kind);
        }
    }

    private void expandTar(Row ref, String keyPrefix, String uri, List<String> labels, ImageProcessor processor,
                           Configuration conf, Map<String, Integer> index, List<Row> out) {
        long offset = ref.getLong(5);
        long length = ref.getLong(6);
        String container = offset > 0 || length >= 0 ? uri + "@" + offset : uri;
        LabelCheck lc = resolve(labels, index);
        int entries = 0;
        try (FSDataInputStream raw = FileSystem.get(new Path(uri).toUri(), conf).open(new Path(uri))) {
            raw.seek(Math.max(0, offset));
            InputStream bounded = length >= 0 ? new BoundedInputStream(raw, length) : raw;
            try (TarArchiveInputStream tar = new TarArchiveInputStream(bounded)) {
                TarArchiveEntry e;
                while ((e = tar.getNextTarEntry()) != null) {
                    if (e.isDirectory()) {
                        continue;
                    }
                    entries++;
                    // The entry name is only a string: it forms the key and is never opened as a path.
                    String key = keyPrefix + "/" + e.getName();
                    String source = container + "!" + e.getName();
                    if (e.isSymbolicLink() || e.isLink() || !e.isFile()) {
                        out.add(reject(key, source, lc.labels, RejectReason.NOT_A_FILE, (e.isSymbolicLink() ? "symbolic link" : e.isLink()
                                ? "hard link" : "special entry") + (e.getLinkName() == null || e.getLinkName().isEmpty() ? "" : " to "
                                + e.getLinkName()) + " inside the tar (links are never followed)", entries));
                    } else if (lc.reason != null) {
                        out.add(reject(key, source, lc.labels, lc.reason, lc.detail, entries));
                    } else if (e.getSize() > imageConfig.maxBytes()) {
                        out.add(reject(key, source, lc.labels, RejectReason.TOO_LARGE, e.getSize() + " bytes > limit " + imageConfig.maxBytes(), entries));
                    } else {
                        out.add(process(processor, key, source, lc.labels, tar.readAllBytes(), entries));
                    }
                    done.add(1);
                }
            }
        } catch (IOException | RuntimeException e) {
            // What was read is kept; the unreadable rest of the tar is one rejection naming the position.
            out.add(reject(keyPrefix + "/#unreadable-after-" + entries, container, lc.labels, RejectReason.READ_ERROR,
                    "tar unreadable after " + entries + " entries: " + oneLine(e), entries));
            done.add(1);
        }
    }

    private static Row process(ImageProcessor p, String key, String source, int[] labels, byte[] bytes, long ordinal) {
        ImageProcessor.Result r;
        try {
            r = p.process(bytes);
        } catch (OutOfMemoryError | RuntimeException e) {
            return reject(key, source, labels, RejectReason.PROCESSING_FAILED, oneLine(e), ordinal);
        }
        if (!r.ok()) {
            return reject(key, source, labels, r.reason(), r.detail(), ordinal);
        }
        return RowFactory.create(key, source, boxed(labels), r.jpeg(), r.width(), r.height(), r.sourceWidth(),
                r.sourceHeight(), r.phash(), null, null, ordinal);
    }

    static Row reject(String key, String source, int[] labels, RejectReason reason, String detail, long ordinal) {
        return RowFactory.create(key, source, labels == null ? null : boxed(labels), null, 0, 0, 0, 0, 0L,
                reason.name(), detail, ordinal);
    }

    private static scala.collection.Seq<Integer> boxed(int[] a) {
        List<Integer> l = new ArrayList<>(a.length);
        for (int v : a) {
            l.add(v);
        }
        return Refs.seq(l);
    }

    private record LabelCheck(int[] labels, RejectReason reason, String detail) {}

    /** Names to class ids; no labels or an unknown name is a rejection, decided before any decoding. */
    private static LabelCheck resolve(List<String> names, Map<String, Integer> index) {
        if (names == null || names.isEmpty()) {
            return new LabelCheck(new int[0], RejectReason.NO_LABEL, "no label");
        }
        int[] ids = new int[names.size()];
        for (int i = 0; i < ids.length; i++) {
            Integer id = index.get(names.get(i));
            if (id == null) {
                return new LabelCheck(new int[0], RejectReason.UNKNOWN_CLASS, "label '" + names.get(i) + "' is not in the class list");
            }
            ids[i] = id;
        }
        java.util.Arrays.sort(ids);
        return new LabelCheck(java.util.Arrays.stream(ids).distinct().toArray(), null, null);
    }

    static String oneLine(Throwable e) {
        return (e.getClass().getSimpleName() + ": " + e.getMessage()).replaceAll("\\s+", " ");
    }
}
