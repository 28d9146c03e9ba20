package io.bitspark.data.prepare;

import java.util.Locale;

/** Layouts of raw image sets that {@code prepare} reads. */
public enum InputFormat {
    /** {@code root/<class>/<image>}: ILSVRC-2012 train and most custom sets. */
    IMAGEFOLDER,
    /** The ImageNet-21k release: a folder of per-synset {@code nXXXXXXXX.tar} files, or one tar of them. */
    IMAGENET21K,
    /** CSV, JSON Lines or Parquet rows with a path (or inline bytes) and one or more labels. */
    MANIFEST;

    public static InputFormat parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT).replace("-", ""));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown input format '" + s + "'; expected imagefolder, imagenet21k or manifest");
        }
    }
}
