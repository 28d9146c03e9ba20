package io.bitspark.data;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Random;

import javax.imageio.ImageIO;

/** Synthetic but varied test images: random shapes on random backgrounds, from a seed. */
public final class TestImages {

    private TestImages() {}

    public static BufferedImage picture(long seed, int w, int h) {
        Random r = new Random(seed);
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(new Color(r.nextInt(256), r.nextInt(256), r.nextInt(256)));
        g.fillRect(0, 0, w, h);
        for (int i = 0; i < 12; i++) {
            g.setColor(new Color(r.nextInt(256), r.nextInt(256), r.nextInt(256)));
            int x = r.nextInt(w);
            int y = r.nextInt(h);
            int s = Math.max(4, r.nextInt(Math.max(5, Math.min(w, h) / 2)));
            if (r.nextBoolean()) {
                g.fillOval(x - s / 2, y - s / 2, s, s);
            } else {
                g.fillRect(x - s / 2, y - s / 2, s, s * 2 / 3);
            }
        }
        g.dispose();
        return img;
    }

    public static byte[] encode(BufferedImage img, String format) {
        try {
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            if (!ImageIO.write(img, format, bos)) {
                throw new IllegalStateException("no writer for " + format);
            }
            return bos.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static byte[] jpeg(long seed, int w, int h) {
        return encode(picture(seed, w, h), "jpg");
    }

    public static byte[] png(long seed, int w, int h) {
        return encode(picture(seed, w, h), "png");
    }
}
