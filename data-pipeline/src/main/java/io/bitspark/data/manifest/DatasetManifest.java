package io.bitspark.data.manifest;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/**
 * {@code manifest.json} of a prepared dataset: the class index, shards with row counts and checksums, the
 * holdout split, totals ({@code inputs = written + rejected}), rejects by reason, and provenance. Every job
 * that reads shards trusts this file; it is written last, so a dataset without it is not ready.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record DatasetManifest(String format, List<ClassEntry> classes, boolean multiLabel, List<Shard> train,
                              List<Shard> holdout, Totals totals, Map<String, Long> rejects, String rejectsFile,
                              Provenance provenance) {

    public static final String FORMAT = "bit-dataset/1";
    public static final String FILE = "manifest.json";

    /** Shard columns. */
    public static final String COL_KEY = "key";
    public static final String COL_IMAGE = "image";
    public static final String COL_LABELS = "labels";
    public static final String COL_WIDTH = "width";
    public static final String COL_HEIGHT = "height";
    public static final String COL_SRC_WIDTH = "src_width";
    public static final String COL_SRC_HEIGHT = "src_height";
    public static final String COL_SOURCE = "source";
    public static final String COL_PHASH = "phash";

    public record ClassEntry(int id, String name, long count) {}

    /** One Parquet file: path relative to the dataset root. */
    public record Shard(String path, long rows, long bytes, String sha256) {}

    public record Totals(long inputs, long written, long rejected, long train, long holdout) {}

    public record Provenance(String input, String inputFormat, Map<String, Object> config, long seed, String codeVersion,
                             String sparkVersion, String createdAt) {}

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    public int numClasses() {
        return classes.size();
    }

    public List<String> classNames() {
        return classes.stream().map(ClassEntry::name).toList();
    }

    public long trainRows() {
        return train.stream().mapToLong(Shard::rows).sum();
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public byte[] toBytes() {
        return toJson().getBytes(StandardCharsets.UTF_8);
    }

    /** SHA-256 of the manifest's bytes, which identifies the data a model was trained on. */
    public static String hash(byte[] manifestBytes) {
        try {
            java.security.MessageDigest d = java.security.MessageDigest.getInstance("SHA-256");
            return "sha256:" + java.util.HexFormat.of().formatHex(d.digest(manifestBytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static DatasetManifest read(InputStream in, String what) throws IOException {
        try {
            DatasetManifest m = JSON.readValue(in, DatasetManifest.class);
            if (m.format() == null || !m.format().startsWith("bit-dataset/")) {
                throw new IOException(what + ": not a bit dataset manifest (format " + m.format() + ")");
            }
            return m;
        } catch (JsonProcessingException e) {
            throw new IOException(what + ": malformed manifest: " + e.getOriginalMessage());
        }
    }
}
