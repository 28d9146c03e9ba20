package io.bitspark.data.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ImageProcessorTest {

    static final ImageProcessor PROCESSOR = new ImageProcessor(ImageProcessor.Config.defaults());

    /**
     * A real 5640x3172 photo (Debian mate-backgrounds) is decoded subsampled (1 in 4, still at least twice the kept
     * size): the output keeps its shorter side of 256 and its aspect, the source size is the file's, and a heap far
     * smaller than the full decode needs (5640 x 3172 x 4 bytes = 72 MB for one ARGB copy) is enough.
     */
    @Test
    void largePhotosAreDecodedSubsampled() throws Exception {
        java.nio.file.Path photo = java.nio.file.Path.of("/usr/share/backgrounds/mate/abstract/Elephants_5640x3172.jpg");
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.exists(photo), "mate-backgrounds (bin/setup installs it)");
        ImageProcessor p = new ImageProcessor(new ImageProcessor.Config(256, 90, 64L << 20, 89_478_485L, 8));
        ImageProcessor.Result r = p.process(java.nio.file.Files.readAllBytes(photo));
        assertTrue(r.ok(), r.reason() + " " + r.detail());
        assertEquals(256, r.height());
        assertEquals(Math.round(256 * 5640 / 3172.0), r.width(), 1.0);
        assertEquals(5640, r.sourceWidth());
        assertEquals(3172, r.sourceHeight());
    }

    static byte[] fixture(String name) throws Exception {
        try (InputStream in = ImageProcessorTest.class.getResourceAsStream("/images/" + name)) {
            assertNotNull(in, name);
            return in.readAllBytes();
        }
    }

    static BufferedImage decode(byte[] jpeg) throws Exception {
        return ImageIO.read(new ByteArrayInputStream(jpeg));
    }

    static boolean reddish(int rgb) {
        return ((rgb >> 16) & 0xff) > 150 && (rgb & 0xff) < 100;
    }

    static boolean bluish(int rgb) {
        return (rgb & 0xff) > 150 && ((rgb >> 16) & 0xff) < 100;
    }

    /** Every supported variant decodes upright to 64x48 with red on the left and blue on the right. */
    @ParameterizedTest
    @ValueSource(strings = {"baseline.jpg", "progressive.jpg", "cmyk.jpg", "exif_rot6.jpg", "rgb8.png",
            "palette.png", "rgba.png", "anim.gif", "rgb24.bmp"})
    void colourVariantsDecodeUpright(String name) throws Exception {
        ImageProcessor.Result r = PROCESSOR.process(fixture(name));
        assertTrue(r.ok(), name + ": " + r.reason() + " " + r.detail());
        assertEquals(64, r.width(), name);
        assertEquals(48, r.height(), name);
        assertEquals(64, r.sourceWidth());
        BufferedImage out = decode(r.jpeg());
        assertTrue(reddish(out.getRGB(8, 24)), name + " left " + Integer.toHexString(out.getRGB(8, 24)));
        assertTrue(bluish(out.getRGB(56, 24)), name + " right " + Integer.toHexString(out.getRGB(56, 24)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"gray.jpg", "gray16.png"})
    void grayscaleBecomesRgbGray(String name) throws Exception {
        ImageProcessor.Result r = PROCESSOR.process(fixture(name));
        assertTrue(r.ok(), name + ": " + r.detail());
        BufferedImage out = decode(r.jpeg());
        int left = out.getRGB(8, 24);
        int right = out.getRGB(56, 24);
        int lr = (left >> 16) & 0xff;
        int lg = (left >> 8) & 0xff;
        assertTrue(Math.abs(lr - lg) <= 3, name + " not gray: " + Integer.toHexString(left));
        // Luma of (230, 20, 20) is ~ 83 and of (20, 20, 230) ~ 44: the halves stay distinguishable.
        assertTrue(lr > ((right >> 16) & 0xff) + 20, name + ": " + Integer.toHexString(left) + " vs " + Integer.toHexString(right));
    }

    @Test
    void largeImagesAreResizedOnTheShorterSide() throws Exception {
        BufferedImage big = new BufferedImage(1000, 600, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = big.createGraphics();
        g.setColor(Color.GREEN);
        g.fillRect(0, 0, 1000, 600);
        g.dispose();
        ImageProcessor p = new ImageProcessor(new ImageProcessor.Config(256, 90, 64L << 20, 89_478_485L, 8));
        ImageProcessor.Result r = p.process(png(big));
        assertTrue(r.ok());
        assertEquals(427, r.width());
        assertEquals(256, r.height());
        assertEquals(1000, r.sourceWidth());
        assertEquals(600, r.sourceHeight());
        BufferedImage small = new BufferedImage(100, 300, BufferedImage.TYPE_INT_RGB);
        ImageProcessor.Result s = p.process(png(small));
        assertEquals(100, s.width(), "small images are kept as they are");
        assertEquals(300, s.height());
    }

    @Test
    void outputIsDeterministic() throws Exception {
        byte[] a = PROCESSOR.process(fixture("cmyk.jpg")).jpeg();
        byte[] b = PROCESSOR.process(fixture("cmyk.jpg")).jpeg();
        assertTrue(Arrays.equals(a, b));
    }

    // ------------------------------------------------------------------ rejects

    static void assertRejected(byte[] bytes, RejectReason reason, String detailPart) {
        ImageProcessor.Result r = PROCESSOR.process(bytes);
        assertEquals(reason, r.reason(), r.detail());
        assertNull(r.jpeg());
        assertTrue(r.detail() != null && r.detail().contains(detailPart), r.detail());
        assertTrue(!r.detail().contains("\n"), "detail is one line");
    }

    @Test
    void empty() {
        assertRejected(new byte[0], RejectReason.EMPTY, "0 bytes");
    }

    @Test
    void unsupportedFormats() throws Exception {
        assertRejected(fixture("tiff.tif"), RejectReason.UNSUPPORTED_FORMAT, "tiff");
        assertRejected(fixture("webp.webp"), RejectReason.UNSUPPORTED_FORMAT, "webp");
        assertRejected("just some text\n".getBytes(), RejectReason.UNSUPPORTED_FORMAT, "not an image");
    }

    @Test
    void truncatedFiles() throws Exception {
        byte[] jpg = fixture("baseline.jpg");
        assertRejected(Arrays.copyOf(jpg, jpg.length * 2 / 3), RejectReason.TRUNCATED, "JPEG ends");
        byte[] prog = fixture("progressive.jpg");
        assertRejected(Arrays.copyOf(prog, prog.length - 40), RejectReason.TRUNCATED, "JPEG ends");
        byte[] png = fixture("rgb8.png");
        assertRejected(Arrays.copyOf(png, png.length - 20), RejectReason.TRUNCATED, "IEND");
        byte[] gif = fixture("anim.gif");
        assertRejected(Arrays.copyOf(gif, gif.length - 30), RejectReason.TRUNCATED, "trailer");
        byte[] bmp = fixture("rgb24.bmp");
        assertRejected(Arrays.copyOf(bmp, bmp.length - 100), RejectReason.TRUNCATED, "BMP declares");
    }

    @Test
    void corruptData() throws Exception {
        byte[] jpg = fixture("baseline.jpg");
        byte[] bad = jpg.clone();
        // Keep the markers, scramble the header tables and the entropy-coded data.
        for (int i = 20; i < bad.length - 2; i++) {
            bad[i] = (byte) (i * 37);
        }
        ImageProcessor.Result r = PROCESSOR.process(bad);
        assertTrue(r.reason() == RejectReason.CORRUPT || r.reason() == RejectReason.TRUNCATED, r.reason() + " " + r.detail());
        byte[] png = fixture("rgb8.png");
        byte[] badPng = png.clone();
        for (int i = 40; i < badPng.length - 16; i++) {
            badPng[i] ^= 0x5a;
        }
        assertRejected(badPng, RejectReason.CORRUPT, "PNG");
    }

    @Test
    void decompressionBombIsRejectedFromTheHeader() throws Exception {
        long t0 = System.nanoTime();
        assertRejected(fixture("bomb.png"), RejectReason.TOO_LARGE, "20000x20000");
        assertTrue((System.nanoTime() - t0) / 1e9 < 2.0, "the bomb was decoded");
    }

    @Test
    void byteAndSizeLimits() throws Exception {
        ImageProcessor tight = new ImageProcessor(new ImageProcessor.Config(512, 90, 500, 89_478_485L, 8));
        ImageProcessor.Result r = tight.process(fixture("baseline.jpg"));
        assertEquals(RejectReason.TOO_LARGE, r.reason());
        assertTrue(r.detail().contains("bytes"), r.detail());
        assertRejected(png(new BufferedImage(4, 40, BufferedImage.TYPE_INT_RGB)), RejectReason.TOO_SMALL, "4x40");
    }

    static byte[] png(BufferedImage img) throws Exception {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        ImageIO.write(img, "png", bos);
        return bos.toByteArray();
    }

    // ------------------------------------------------------------------ perceptual hash

    @Test
    void perceptualHashSurvivesResizeAndReencodeButSeparatesPhotos() throws Exception {
        Path dir = Path.of("/usr/share/backgrounds/mate/nature");
        assertTrue(Files.isDirectory(dir), "Debian package mate-backgrounds is needed (bin/setup installs it)");
        ImageProcessor p = new ImageProcessor(new ImageProcessor.Config(256, 90, 64L << 20, 89_478_485L, 8));
        long a = p.process(Files.readAllBytes(dir.resolve("Garden.jpg"))).phash();
        long b = p.process(Files.readAllBytes(dir.resolve("LadyBird.jpg"))).phash();
        // A copy at a third of the size, re-encoded at quality 60.
        BufferedImage garden = ImageIO.read(dir.resolve("Garden.jpg").toFile());
        BufferedImage small = ImageProcessor.resizeShorterSide(ImageProcessor.toRgb(garden), garden.getHeight() / 3);
        long c = p.process(ImageProcessor.encodeJpeg(small, 60)).phash();
        assertTrue(PerceptualHash.distance(a, c) <= 6, "copy distance " + PerceptualHash.distance(a, c));
        assertTrue(PerceptualHash.distance(a, b) > 16, "different photos distance " + PerceptualHash.distance(a, b));
    }
}
