package io.bitspark.data.image;

/** Why an input did not become a training example. Every input ends up written or rejected with one of these. */
public enum RejectReason {
    /** Zero bytes. */
    EMPTY,
    /** The bytes are not a decodable image of the format they claim. */
    CORRUPT,
    /** The file ends before the image does. */
    TRUNCATED,
    /** Not JPEG, PNG, GIF or BMP (e.g. WebP, TIFF, HEIC, text). */
    UNSUPPORTED_FORMAT,
    /** More bytes or pixels (from the header, before decoding) than the configured limits. */
    TOO_LARGE,
    /** Fewer pixels per side than the configured minimum. */
    TOO_SMALL,
    /** The record has no label. */
    NO_LABEL,
    /** A label that is not in the class list. */
    UNKNOWN_CLASS,
    /** Another input already has this key. */
    DUPLICATE_KEY,
    /** A near-duplicate (perceptual hash) of an image of a downstream evaluation set. */
    NEAR_DUPLICATE_OF_EVAL,
    /** The file could not be read from storage. */
    READ_ERROR,
    /** A manifest path that resolves outside the manifest's folder and every --allow-root (.., absolute, other schemes, symlinks). */
    OUTSIDE_DATA_ROOT,
    /** Not a regular file: a tar's symbolic or hard link entry, a directory that cannot be listed, a symbolic link loop. */
    NOT_A_FILE,
    /** Decoding worked but a later step failed for this image (colour conversion, orientation, resize, hash, encode). */
    PROCESSING_FAILED
}
