package io.bitspark.data.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.util.Random;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;

/** The HyperRule training view mirrors about half the draws, and never with flips off (same crops either way). */
class AugmentFlipTest {

    @Test
    void flipsOffNeverMirrorAndKeepTheCrops() throws Exception {
        // Left half white, right half black: a mirrored view is dark on its left edge.
        BufferedImage img = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 8; x++) {
                img.setRGB(x, y, 0xFFFFFF);
            }
        }
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(img, "png", png);
        byte[] bytes = png.toByteArray();
        int mirrored = 0;
        int draws = 200;
        for (int i = 0; i < draws; i++) {
            float[] on = new float[3 * 12 * 12];
            float[] off = new float[3 * 12 * 12];
            Augment.hyperRuleTrain(bytes, 16, 12, true, new Random(i), on, 0);
            Augment.hyperRuleTrain(bytes, 16, 12, false, new Random(i), off, 0);
            assertTrue(off[0] > 0.9f && off[11] < -0.9f, "flips off: bright left, dark right at draw " + i);
            boolean flipped = on[0] < -0.9f;
            if (flipped) {
                mirrored++;
                for (int x = 0; x < 12; x++) {
                    assertEquals(off[x], on[11 - x], 1e-6f, "the same crop, mirrored, at draw " + i);
                }
            } else {
                assertEquals(java.util.Arrays.toString(off), java.util.Arrays.toString(on));
            }
        }
        assertTrue(mirrored > draws / 3 && mirrored < 2 * draws / 3, mirrored + " of " + draws + " mirrored");
    }
}
