package io.bitspark.data.shards;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;

import io.bitspark.data.image.Augment;

/** Rows held in memory go through the same decoding and checks as a batch read from shards. */
class BatchDecoderTest {

    private static byte[] jpeg(int w, int h, Color c) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(c);
        g.fillRect(0, 0, w, h);
        g.setColor(Color.WHITE);
        g.fillOval(w / 4, h / 4, w / 2, h / 3);
        g.dispose();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "jpg", out);
        return out.toByteArray();
    }

    private static final BatchDecoder.View EVAL = (e, x, offset) -> Augment.eval(e.jpeg(), Augment.Config.bit(16), x, offset);

    @Test
    void rowsBecomeTheirViewsAndLabels() throws IOException {
        List<ShardReader.Example> rows = List.of(
                new ShardReader.Example("a", jpeg(40, 30, Color.RED), new int[] {2}),
                new ShardReader.Example("b", jpeg(24, 48, Color.BLUE), new int[] {0, 1}));
        BatchDecoder.Batch b = BatchDecoder.decode(rows, 16, 3, EVAL, i -> "example " + i);
        assertEquals(2, b.size());
        assertEquals(16, b.resolution());
        float[] expected = new float[2 * 3 * 16 * 16];
        Augment.eval(rows.get(0).jpeg(), Augment.Config.bit(16), expected, 0);
        Augment.eval(rows.get(1).jpeg(), Augment.Config.bit(16), expected, 3 * 16 * 16);
        assertArrayEquals(expected, b.pixels());
        assertArrayEquals(new int[] {2}, b.labels()[0]);
        assertArrayEquals(new int[] {0, 1}, b.labels()[1]);
        assertArrayEquals(new float[] {0, 0, 1, 1, 1, 0}, b.kHot(3));
        for (float v : b.pixels()) {
            assertTrue(v >= -1 && v <= 1, "pixel " + v);
        }
    }

    @Test
    void aRowThatDoesNotDecodeIsNamed() throws IOException {
        List<ShardReader.Example> rows = List.of(
                new ShardReader.Example("good", jpeg(20, 20, Color.GREEN), new int[] {0}),
                new ShardReader.Example("broken-7", new byte[] {1, 2, 3, 4}, new int[] {0}));
        IOException e = assertThrows(IOException.class, () -> BatchDecoder.decode(rows, 16, 2, EVAL, i -> "example " + (10 + i)));
        assertTrue(e.getMessage().startsWith("example 11 (broken-7): not a decodable image"), e.getMessage());
    }

    @Test
    void aLabelOutsideTheClassesIsNamed() throws IOException {
        List<ShardReader.Example> rows = List.of(new ShardReader.Example("k", jpeg(20, 20, Color.GREEN), new int[] {1, 5}));
        IOException e = assertThrows(IOException.class, () -> BatchDecoder.decode(rows, 16, 3, EVAL, i -> "example " + i));
        assertEquals("example 0 (k): label 5 outside 0..2", e.getMessage());
    }
}
