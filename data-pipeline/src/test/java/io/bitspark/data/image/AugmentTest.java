package io.bitspark.data.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;

import io.bitspark.data.TestImages;

/** BiT's upstream views: the Inception crop's ranges, per-image generators, and the pixel range of both views. */
class AugmentTest {

    @Test
    void inceptionCropsStayInsideTheirRanges() {
        Augment.Config c = Augment.Config.bit(64);
        Random sizes = new Random(1);
        int squareish = 0;
        int squareFallbacks = 0;
        for (int i = 0; i < 2000; i++) {
            int w = 8 + sizes.nextInt(600);
            int h = 8 + sizes.nextInt(600);
            Augment.Crop crop = Augment.inceptionCrop(w, h, c, new Random(i));
            assertTrue(crop.x() >= 0 && crop.y() >= 0 && crop.x() + crop.w() <= w && crop.y() + crop.h() <= h, crop + " in " + w + "x" + h);
            boolean near = w <= 4.0 / 3 * h && h <= 4.0 / 3 * w;
            squareish += near ? 1 : 0;
            if (crop.w() == w && crop.h() == h && crop.x() == 0 && crop.y() == 0) {
                squareFallbacks += near ? 1 : 0;
                continue;
            }
            double area = (double) crop.w() * crop.h() / ((double) w * h);
            double aspect = (double) crop.w() / crop.h();
            // Rounding to whole pixels moves area and aspect by at most a pixel's worth.
            double slack = 2.0 / Math.min(crop.w(), crop.h());
            assertTrue(area >= c.minArea() * (1 - 2 * slack) && area <= 1 + 1e-9, "area " + area + " of " + crop + " in " + w + "x" + h);
            assertTrue(aspect >= c.minAspect() * (1 - slack) && aspect <= c.maxAspect() * (1 + slack), "aspect " + aspect);
        }
        // Ten tries find a crop for all but a few near-square images; very elongated ones fall back to the whole image.
        assertTrue(squareish > 100 && squareFallbacks <= squareish / 100, squareFallbacks + " whole-image fallbacks of " + squareish
                + " near-square images");
    }

    @Test
    void aViewIsAFunctionOfSeedEpochAndKey() throws Exception {
        byte[] jpeg = TestImages.jpeg(7, 80, 60);
        Augment.Config c = Augment.Config.bit(32);
        float[] a = view(jpeg, c, 5, 2, "cat/1.jpg");
        assertArrayEquals(a, view(jpeg, c, 5, 2, "cat/1.jpg"), "the same view wherever it is computed");
        assertFalse(Arrays.equals(a, view(jpeg, c, 5, 3, "cat/1.jpg")), "another epoch, another view");
        assertFalse(Arrays.equals(a, view(jpeg, c, 5, 2, "cat/2.jpg")), "another image key, another view");
        assertFalse(Arrays.equals(a, view(jpeg, c, 6, 2, "cat/1.jpg")), "another run seed, another view");
        for (float v : a) {
            assertTrue(v >= -1f && v <= 1f, "pixel " + v);
        }
        float[] e = new float[3 * 32 * 32];
        Augment.eval(jpeg, c, e, 0);
        float[] again = new float[3 * 32 * 32];
        Augment.eval(jpeg, c, again, 0);
        assertArrayEquals(e, again, "evaluation has no randomness");
        float[] resized = new float[3 * 32 * 32];
        ImageTensors.toChw(ImageTensors.resize(Augment.decode(jpeg), 32, 32), resized, 0);
        assertArrayEquals(resized, e, "evaluation is the whole image resized");
    }

    @Test
    void badInputIsNamed() {
        assertThrows(IllegalArgumentException.class, () -> Augment.Config.inception(64, 0, true));
        assertThrows(IllegalArgumentException.class, () -> new Augment.Config(4, 0.5, 0.75, 1.33, true));
        java.io.IOException e = assertThrows(java.io.IOException.class,
                () -> Augment.train("not an image".getBytes(), Augment.Config.bit(32), new Random(0), new float[3 * 32 * 32], 0));
        assertTrue(e.getMessage().contains("not a decodable image"), e.getMessage());
        assertEquals(0.08, Augment.Config.bit(224).minArea());
    }

    private static float[] view(byte[] jpeg, Augment.Config c, long seed, long epoch, String key) throws Exception {
        float[] out = new float[3 * c.resolution() * c.resolution()];
        Augment.train(jpeg, c, Augment.rng(seed, epoch, key), out, 0);
        return out;
    }
}
