package io.bitspark.data.image;

/**
 * Reads the EXIF orientation tag (0x0112) of a JPEG from its APP1 segment, without a metadata library:
 * walk the markers to APP1 "Exif\0\0", then the TIFF header and IFD0. Returns 1 (upright) when absent or
 * malformed, so a bad EXIF block never rejects an otherwise good image.
 */
public final class Exif {

    private Exif() {}

    public static int jpegOrientation(byte[] b) {
        try {
            int i = 2;
            while (i + 4 <= b.length) {
                if ((b[i] & 0xff) != 0xFF) {
                    return 1;
                }
                int marker = b[i + 1] & 0xff;
                if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
                    i += 2;
                    continue;
                }
                if (marker == 0xDA || marker == 0xD9) {
                    return 1; // start of scan: no EXIF before the image data
                }
                int len = ((b[i + 2] & 0xff) << 8) | (b[i + 3] & 0xff);
                if (marker == 0xE1 && len >= 8 && i + 4 + 6 <= b.length && b[i + 4] == 'E' && b[i + 5] == 'x'
                        && b[i + 6] == 'i' && b[i + 7] == 'f' && b[i + 8] == 0 && b[i + 9] == 0) {
                    return tiffOrientation(b, i + 10, Math.min(b.length, i + 2 + len));
                }
                i += 2 + len;
            }
        } catch (RuntimeException e) {
            return 1;
        }
        return 1;
    }

    private static int tiffOrientation(byte[] b, int start, int end) {
        boolean le;
        if (b[start] == 'I' && b[start + 1] == 'I') {
            le = true;
        } else if (b[start] == 'M' && b[start + 1] == 'M') {
            le = false;
        } else {
            return 1;
        }
        long ifd = u32(b, start + 4, le);
        int p = (int) (start + ifd);
        if (ifd < 8 || p + 2 > end) {
            return 1;
        }
        int n = u16(b, p, le);
        for (int k = 0; k < n; k++) {
            int e = p + 2 + 12 * k;
            if (e + 12 > end) {
                return 1;
            }
            if (u16(b, e, le) == 0x0112) {
                int v = u16(b, e + 8, le);
                return v >= 1 && v <= 8 ? v : 1;
            }
        }
        return 1;
    }

    private static int u16(byte[] b, int p, boolean le) {
        return le ? (b[p] & 0xff) | (b[p + 1] & 0xff) << 8 : (b[p] & 0xff) << 8 | (b[p + 1] & 0xff);
    }

    private static long u32(byte[] b, int p, boolean le) {
        return le ? (u16(b, p, true) | (long) u16(b, p + 2, true) << 16) : ((long) u16(b, p, false) << 16 | u16(b, p + 2, false));
    }
}
