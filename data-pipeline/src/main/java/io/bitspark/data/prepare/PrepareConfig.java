package io.bitspark.data.prepare;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import io.bitspark.data.image.ImageProcessor;

/**
 * Everything {@code prepare} needs, validated before any work.
 *
 * @param input            image set URI (local path, file://, hdfs://, s3a://)
 * @param format           its layout
 * @param output           dataset URI; receives train/, holdout/, rejects/ and manifest.json
 * @param image            decoding limits and output encoding
 * @param shardTargetBytes target size of one shard
 * @param holdoutFraction  fraction of keys in the holdout split, by key hash (stable as the set grows)
 * @param seed             shuffle seed, recorded in the manifest
 * @param classNames       optional class list (one name per line; line order is the class index)
 * @param wordnetNames     optional ImageNet-21k "wnid<TAB>lemmas" file for readable class names
 * @param dedupAgainst     evaluation sets (image folders, manifests' folders, or prepared datasets)
 * @param dedupDistance    maximum pHash Hamming distance of a near-duplicate
 * @param partitions       processing tasks (0: one per input file up to a limit, or Spark's default)
 * @param allowRoots       besides a manifest's own folder, where its paths may point (URIs; http(s) only when listed)
 * @param overwrite        replace an output prepared from other inputs or settings (otherwise refused)
 * @param multiLabel       treat a manifest as multi-label whatever its label column (see {@link Sources#manifest})
 */
public record PrepareConfig(String input, InputFormat format, String output, ImageProcessor.Config image,
                            long shardTargetBytes, double holdoutFraction, long seed, String classNames,
                            String wordnetNames, List<String> dedupAgainst, int dedupDistance, int partitions,
                            List<String> allowRoots, boolean overwrite, boolean multiLabel)
        implements Serializable {

    /** Without extra roots, and refusing to replace another data set. */
    public PrepareConfig(String input, InputFormat format, String output, ImageProcessor.Config image, long shardTargetBytes,
                         double holdoutFraction, long seed, String classNames, String wordnetNames, List<String> dedupAgainst,
                         int dedupDistance, int partitions) {
        this(input, format, output, image, shardTargetBytes, holdoutFraction, seed, classNames, wordnetNames, dedupAgainst,
                dedupDistance, partitions, List.of(), false, false);
    }

    /** With extra roots and the overwrite choice; multi-label by the manifest's own rule. */
    public PrepareConfig(String input, InputFormat format, String output, ImageProcessor.Config image, long shardTargetBytes,
                         double holdoutFraction, long seed, String classNames, String wordnetNames, List<String> dedupAgainst,
                         int dedupDistance, int partitions, List<String> allowRoots, boolean overwrite) {
        this(input, format, output, image, shardTargetBytes, holdoutFraction, seed, classNames, wordnetNames, dedupAgainst,
                dedupDistance, partitions, allowRoots, overwrite, false);
    }

    public static final long DEFAULT_SHARD_BYTES = 256L << 20;

    public PrepareConfig {
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(output, "output");
        Objects.requireNonNull(image, "image");
        dedupAgainst = dedupAgainst == null ? List.of() : List.copyOf(dedupAgainst);
        allowRoots = allowRoots == null ? List.of() : List.copyOf(allowRoots);
        if (multiLabel && format != InputFormat.MANIFEST) {
            throw new IllegalArgumentException("--multi-label applies only to --format manifest");
        }
        if (!allowRoots.isEmpty() && format != InputFormat.MANIFEST) {
            throw new IllegalArgumentException("--allow-root applies only to --format manifest");
        }
        if (shardTargetBytes < 1024) {
            throw new IllegalArgumentException("shard size must be at least 1 KiB, got " + shardTargetBytes + " bytes");
        }
        if (!(holdoutFraction >= 0 && holdoutFraction < 1)) {
            throw new IllegalArgumentException("holdout fraction must be in [0, 1), got " + holdoutFraction);
        }
        if (dedupDistance < 0 || dedupDistance > NearDuplicateIndex.MAX_DISTANCE) {
            throw new IllegalArgumentException("dedup distance must be in 0.." + NearDuplicateIndex.MAX_DISTANCE + " bits, got " + dedupDistance);
        }
        if (partitions < 0) {
            throw new IllegalArgumentException("partitions must be >= 0, got " + partitions);
        }
        if (wordnetNames != null && format != InputFormat.IMAGENET21K) {
            throw new IllegalArgumentException("--wordnet-names applies only to --format imagenet21k");
        }
    }

    /** Flattened settings for the manifest's provenance. */
    public Map<String, Object> asMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("input", input);
        m.put("format", format.name().toLowerCase(java.util.Locale.ROOT));
        m.put("output", output);
        m.put("image.max_side", image.maxSide());
        m.put("image.jpeg_quality", image.jpegQuality());
        m.put("image.max_bytes", image.maxBytes());
        m.put("image.max_pixels", image.maxPixels());
        m.put("image.min_side", image.minSide());
        m.put("shard_target_bytes", shardTargetBytes);
        m.put("holdout_fraction", holdoutFraction);
        m.put("seed", seed);
        m.put("class_names", classNames);
        m.put("wordnet_names", wordnetNames);
        m.put("dedup_against", dedupAgainst);
        m.put("dedup_distance", dedupDistance);
        m.put("partitions", partitions);
        m.put("allow_roots", allowRoots);
        m.put("multi_label", multiLabel);
        return m;
    }
}
