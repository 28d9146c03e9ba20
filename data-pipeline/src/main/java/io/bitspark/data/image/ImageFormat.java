package io.bitspark.data.image;

/** Container formats recognised by their magic bytes; only the first four are decoded. */
public enum ImageFormat {
    JPEG, PNG, GIF, BMP, WEBP, TIFF, HEIF, UNKNOWN;

    public boolean supported() {
        return this == JPEG || this == PNG || this == GIF || this == BMP;
    }

    /** Sniffs the format from the first bytes; never trusts file names. */
    public static ImageFormat sniff(byte[] b) {
        if (b.length >= 3 && (b[0] & 0xff) == 0xFF && (b[1] & 0xff) == 0xD8 && (b[2] & 0xff) == 0xFF) {
            return JPEG;
        }
        if (b.length >= 8 && (b[0] & 0xff) == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') {
            return PNG;
        }
        if (b.length >= 6 && b[0] == 'G' && b[1] == 'I' && b[2] == 'F' && b[3] == '8') {
            return GIF;
        }
        if (b.length >= 2 && b[0] == 'B' && b[1] == 'M') {
            return BMP;
        }
        if (b.length >= 12 && b[0] == 'R' && b[1] == 'I' && b[2] == 'F' && b[3] == 'F' && b[8] == 'W' && b[9] == 'E'
                && b[10] == 'B' && b[11] == 'P') {
            return WEBP;
        }
        if (b.length >= 4 && ((b[0] == 'I' && b[1] == 'I' && b[2] == 42 && b[3] == 0)
                || (b[0] == 'M' && b[1] == 'M' && b[2] == 0 && b[3] == 42))) {
            return TIFF;
        }
        if (b.length >= 12 && b[4] == 'f' && b[5] == 't' && b[6] == 'y' && b[7] == 'p') {
            return HEIF;
        }
        return UNKNOWN;
    }
}
