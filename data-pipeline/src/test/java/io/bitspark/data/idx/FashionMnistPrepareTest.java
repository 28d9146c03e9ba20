package io.bitspark.data.idx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import javax.imageio.ImageIO;

import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.bitspark.data.SparkTestSession;
import io.bitspark.data.image.ImageProcessor;
import io.bitspark.data.manifest.DatasetManifest;
import io.bitspark.data.prepare.InputFormat;
import io.bitspark.data.prepare.PrepareConfig;
import io.bitspark.data.prepare.PrepareJob;

/** Fashion-MNIST from the Debian package, written out as an image folder, prepares end to end. */
class FashionMnistPrepareTest {

    @Test
    void debianFashionMnistPreparesEndToEnd(@TempDir Path tmp) throws Exception {
        assertTrue(Files.isDirectory(FashionMnist.DEBIAN_DIR), "Debian package dataset-fashion-mnist is needed (bin/setup)");
        IdxImages.Data train = FashionMnist.read(FashionMnist.DEBIAN_DIR, "train");
        assertEquals(60_000, train.size());
        assertEquals(28, train.rows());
        int written = FashionMnist.writeFolder(train, "train", tmp.resolve("fm"), Set.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), 40);
        assertEquals(400, written);

        PrepareConfig c = new PrepareConfig(tmp.resolve("fm/train").toString(), InputFormat.IMAGEFOLDER,
                tmp.resolve("ds").toString(), ImageProcessor.Config.defaults(), 64 << 10, 0.1, 3L, null, null, List.of(), 4, 0);
        DatasetManifest m = new PrepareJob(SparkTestSession.get(), c).run();
        assertEquals(400, m.totals().inputs());
        assertEquals(400, m.totals().written());
        assertEquals(0, m.totals().rejected());
        assertEquals(10, m.numClasses());
        m.classes().forEach(cls -> assertEquals(40, cls.count(), cls.name()));
        assertTrue(m.classNames().contains("Ankle_boot") && m.classNames().contains("T-shirt_top"), m.classNames().toString());
        double mean = m.trainRows() / (double) m.train().size();
        assertTrue(m.train().size() >= 4, "several shards at a 64 KiB target");
        assertTrue(m.train().stream().allMatch(s -> s.rows() > 0.6 * mean && s.rows() < 1.4 * mean),
                "shards of roughly equal size: " + m.train());
        Row r = SparkTestSession.get().read().parquet(tmp.resolve("ds").resolve(m.train().get(0).path()).toString())
                .select("image", "width", "height", "labels").first();
        assertEquals(28, r.getInt(1));
        assertEquals(28, r.getInt(2));
        var img = ImageIO.read(new ByteArrayInputStream((byte[]) r.get(0)));
        assertEquals(28, img.getWidth());
    }

    @Test
    void badIdxFilesAreNamed(@TempDir Path tmp) throws Exception {
        Path bad = Files.write(tmp.resolve("x-images-idx3-ubyte"), new byte[] {0, 0, 9, 3, 0, 0, 0, 1});
        Path labels = Files.write(tmp.resolve("x-labels-idx1-ubyte"), new byte[] {0, 0, 8, 1, 0, 0, 0, 1, 4});
        var e = assertThrows(java.io.IOException.class, () -> IdxImages.read(bad, labels));
        assertTrue(e.getMessage().contains("x-images-idx3-ubyte") && e.getMessage().contains("0x903"), e.getMessage());
    }
}
