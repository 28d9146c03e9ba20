package io.bitspark.data.image;

import java.awt.image.BufferedImage;

/**
 * A 64-bit DCT perceptual hash (pHash): luminance at 32x32 (area average), 2D DCT-II, the 8x8 lowest
 * frequencies without the DC term compared with their median. Resizing, re-encoding and mild colour
 * changes move few bits, so near-duplicates are within a small Hamming distance.
 */
public final class PerceptualHash {

    private static final int N = 32;
    private static final double[][] COS = new double[8][N];

    static {
        for (int u = 0; u < 8; u++) {
            for (int x = 0; x < N; x++) {
                COS[u][x] = Math.cos((2 * x + 1) * u * Math.PI / (2 * N));
            }
        }
    }

    private PerceptualHash() {}

    public static long of(BufferedImage rgb) {
        double[][] lum = luminance32(rgb);
        double[] coef = new double[64];
        for (int u = 0; u < 8; u++) {
            for (int v = 0; v < 8; v++) {
                double s = 0;
                for (int y = 0; y < N; y++) {
                    double row = 0;
                    for (int x = 0; x < N; x++) {
                        row += lum[y][x] * COS[v][x];
                    }
                    s += row * COS[u][y];
                }
                coef[u * 8 + v] = s;
            }
        }
        double[] ac = new double[63];
        System.arraycopy(coef, 1, ac, 0, 63);
        java.util.Arrays.sort(ac);
        double median = ac[31];
        long h = 0;
        for (int i = 0; i < 64; i++) {
            if (coef[i] > median) {
                h |= 1L << i;
            }
        }
        return h;
    }

    public static int distance(long a, long b) {
        return Long.bitCount(a ^ b);
    }

    /** Mean luminance (BT.601) over a 32x32 grid of equal-area boxes. */
    private static double[][] luminance32(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        double[][] sum = new double[N][N];
        double[][] cnt = new double[N][N];
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            img.getRGB(0, y, w, 1, row, 0, w);
            int gy = (int) ((long) y * N / h);
            for (int x = 0; x < w; x++) {
                int p = row[x];
                double l = 0.299 * ((p >> 16) & 0xff) + 0.587 * ((p >> 8) & 0xff) + 0.114 * (p & 0xff);
                int gx = (int) ((long) x * N / w);
                sum[gy][gx] += l;
                cnt[gy][gx] += 1;
            }
        }
        for (int y = 0; y < N; y++) {
            for (int x = 0; x < N; x++) {
                if (cnt[y][x] > 0) {
                    sum[y][x] /= cnt[y][x];
                } else {
                    // Images under 32 pixels on a side: nearest-neighbour upsampling for the empty cells.
                    int p = img.getRGB((int) ((long) x * w / N), (int) ((long) y * h / N));
                    sum[y][x] = 0.299 * ((p >> 16) & 0xff) + 0.587 * ((p >> 8) & 0xff) + 0.114 * (p & 0xff);
                }
            }
        }
        return sum;
    }
}
