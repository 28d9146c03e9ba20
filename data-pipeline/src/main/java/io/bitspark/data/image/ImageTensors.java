package io.bitspark.data.image;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;

/**
 * Conversions between decoded images and network inputs: RGB resizing with area-preserving downscale, and
 * packing into NCHW float arrays scaled to [-1, 1] as BiT expects ({@code x / 127.5 - 1}).
 */
public final class ImageTensors {

    private ImageTensors() {}

    /**
     * Resizes to exactly {@code width x height}. Downscaling halves repeatedly with bilinear filtering
     * (an area average over 2x2) until within a factor 2, then interpolates bilinearly, which avoids the
     * aliasing of a single bilinear step over a large factor.
     */
    public static BufferedImage resize(BufferedImage src, int width, int height) {
        BufferedImage cur = ImageProcessor.toRgb(src);
        while (cur.getWidth() >= 2 * width && cur.getHeight() >= 2 * height) {
            cur = draw(cur, Math.max(width, cur.getWidth() / 2), Math.max(height, cur.getHeight() / 2));
        }
        if (cur.getWidth() == width && cur.getHeight() == height) {
            return cur;
        }
        return draw(cur, width, height);
    }

    private static BufferedImage draw(BufferedImage src, int w, int h) {
        BufferedImage dst = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = dst.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
            g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
            g.drawImage(src, 0, 0, w, h, null);
        } finally {
            g.dispose();
        }
        return dst;
    }

    /** Writes an RGB image into {@code out} at {@code offset} as planar CHW floats in [-1, 1]. */
    public static void toChw(BufferedImage rgb, float[] out, int offset) {
        int w = rgb.getWidth();
        int h = rgb.getHeight();
        int plane = w * h;
        int[] px = rgb.getRGB(0, 0, w, h, null, 0, w);
        for (int i = 0; i < plane; i++) {
            int p = px[i];
            out[offset + i] = ((p >> 16) & 0xff) / 127.5f - 1f;
            out[offset + plane + i] = ((p >> 8) & 0xff) / 127.5f - 1f;
            out[offset + 2 * plane + i] = (p & 0xff) / 127.5f - 1f;
        }
    }
}
