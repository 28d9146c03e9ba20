package io.bitspark.data.image;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.Serializable;
import java.util.Random;

import javax.imageio.ImageIO;

/**
 * BiT's training and evaluation preprocessing of a stored JPEG: training takes an Inception-style random
 * crop (area 8%..100% of the image, aspect 3/4..4/3, up to 10 tries, else the whole image), resizes it to
 * {@code resolution} and flips it horizontally with probability 1/2; evaluation resizes the whole image.
 * Pixels go to [-1, 1]. Randomness comes from the caller's generator, seeded per image.
 */
public final class Augment {

    /** Output size and crop ranges. */
    public record Config(int resolution, double minArea, double minAspect, double maxAspect, boolean flip) implements Serializable {
        /** Aspect ratios of the Inception crop (Szegedy et al.; BiT's upstream preprocessing). */
        public static final double MIN_ASPECT = 3.0 / 4;
        public static final double MAX_ASPECT = 4.0 / 3;

        /** BiT's upstream defaults: crops of 8%..100% of the area, flips on. */
        public static Config bit(int resolution) {
            return inception(resolution, 0.08, true);
        }

        /** The Inception crop at the given smallest area, with BiT's aspect range. */
        public static Config inception(int resolution, double minArea, boolean flip) {
            return new Config(resolution, minArea, MIN_ASPECT, MAX_ASPECT, flip);
        }

        public Config {
            if (resolution < 8 || !(minArea > 0 && minArea <= 1) || !(minAspect > 0 && minAspect <= maxAspect)) {
                throw new IllegalArgumentException("invalid augmentation: resolution " + resolution + ", area " + minArea
                        + ", aspect " + minAspect + ".." + maxAspect);
            }
        }
    }

    /** A crop rectangle in pixels. */
    public record Crop(int x, int y, int w, int h) {}

    private Augment() {}

    public static BufferedImage decode(byte[] jpeg) throws IOException {
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(jpeg));
        if (img == null) {
            throw new IOException("not a decodable image (" + jpeg.length + " bytes)");
        }
        return ImageProcessor.toRgb(img);
    }

    /** The Inception crop for an image of {@code w x h}. */
    public static Crop inceptionCrop(int w, int h, Config c, Random rng) {
        double area = (double) w * h;
        double logMin = Math.log(c.minAspect());
        double logMax = Math.log(c.maxAspect());
        for (int attempt = 0; attempt < 10; attempt++) {
            double target = area * (c.minArea() + rng.nextDouble() * (1 - c.minArea()));
            double aspect = Math.exp(logMin + rng.nextDouble() * (logMax - logMin));
            int cw = (int) Math.round(Math.sqrt(target * aspect));
            int ch = (int) Math.round(Math.sqrt(target / aspect));
            if (cw >= 1 && ch >= 1 && cw <= w && ch <= h) {
                int x = rng.nextInt(w - cw + 1);
                int y = rng.nextInt(h - ch + 1);
                return new Crop(x, y, cw, ch);
            }
        }
        return new Crop(0, 0, w, h);
    }

    /** Training view of one image into {@code out[offset..]} as CHW floats in [-1, 1]. */
    public static void train(byte[] jpeg, Config c, Random rng, float[] out, int offset) throws IOException {
        BufferedImage img = decode(jpeg);
        Crop crop = inceptionCrop(img.getWidth(), img.getHeight(), c, rng);
        BufferedImage view = ImageTensors.resize(img.getSubimage(crop.x(), crop.y(), crop.w(), crop.h()),
                c.resolution(), c.resolution());
        if (c.flip() && rng.nextBoolean()) {
            view = mirror(view);
        }
        ImageTensors.toChw(view, out, offset);
    }

    /**
     * BiT-HyperRule training view: resize the whole image to {@code resize x resize}, take a random
     * {@code crop x crop} window, flip horizontally with probability 1/2.
     */
    public static void hyperRuleTrain(byte[] jpeg, int resize, int crop, Random rng, float[] out, int offset) throws IOException {
        hyperRuleTrain(jpeg, resize, crop, true, rng, out, offset);
    }

    /**
     * As {@link #hyperRuleTrain(byte[], int, int, Random, float[], int)}; with {@code flip} false the view is never
     * mirrored (the generator advances the same way, so the crops are those of a flipping run).
     */
    public static void hyperRuleTrain(byte[] jpeg, int resize, int crop, boolean flip, Random rng, float[] out, int offset)
            throws IOException {
        BufferedImage img = ImageTensors.resize(decode(jpeg), resize, resize);
        int x = rng.nextInt(resize - crop + 1);
        int y = rng.nextInt(resize - crop + 1);
        BufferedImage view = img.getSubimage(x, y, crop, crop);
        if (rng.nextBoolean() && flip) {
            view = mirror(view);
        } else {
            view = ImageTensors.resize(view, crop, crop);
        }
        ImageTensors.toChw(view, out, offset);
    }

    /** Evaluation view: the whole image resized to the resolution. */
    public static void eval(byte[] jpeg, Config c, float[] out, int offset) throws IOException {
        ImageTensors.toChw(ImageTensors.resize(decode(jpeg), c.resolution(), c.resolution()), out, offset);
    }

    static BufferedImage mirror(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        int[] row = new int[w];
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            img.getRGB(0, y, w, 1, row, 0, w);
            for (int i = 0; i < w / 2; i++) {
                int t = row[i];
                row[i] = row[w - 1 - i];
                row[w - 1 - i] = t;
            }
            out.setRGB(0, y, w, 1, row, 0, w);
        }
        return out;
    }

    /** A generator for one image of one epoch: the same view wherever and however often it is computed. */
    public static Random rng(long seed, long epoch, String key) {
        long h = seed * 0x9E3779B97F4A7C15L ^ (epoch + 0x632BE59BD9B4E019L) * 0xC2B2AE3D27D4EB4FL;
        for (int i = 0; i < key.length(); i++) {
            h = (h ^ key.charAt(i)) * 0x100000001B3L;
        }
        return new Random(h);
    }
}
