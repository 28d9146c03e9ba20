package io.bitspark.data.idx;

import java.awt.image.BufferedImage;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import javax.imageio.ImageIO;

/**
 * Fashion-MNIST (Xiao et al., 2017) from Debian's {@code dataset-fashion-mnist}, written out as image folders
 * {@code <output>/<split>/<class>/<split>-<index>.png}: real 28x28 grayscale photographs of clothing in ten
 * classes, the project's embedded default data set.
 */
public final class FashionMnist {

    public static final Path DEBIAN_DIR = Path.of("/usr/share/datasets/fashion-mnist");
    public static final List<String> CLASSES = List.of("T-shirt_top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle_boot");

    private FashionMnist() {}

    public static IdxImages.Data read(Path dir, String split) throws IOException {
        String prefix = switch (split) {
            case "train" -> "train";
            case "test" -> "t10k";
            default -> throw new IllegalArgumentException("split must be train or test, got " + split);
        };
        Path images = dir.resolve(prefix + "-images-idx3-ubyte.gz");
        Path labels = dir.resolve(prefix + "-labels-idx1-ubyte.gz");
        if (!Files.exists(images) || !Files.exists(labels)) {
            throw new IllegalArgumentException("Fashion-MNIST not found in " + dir
                    + " (install the Debian package dataset-fashion-mnist, or run bin/setup)");
        }
        return IdxImages.read(images, labels);
    }

    /**
     * Writes the images of the given classes (ids) as PNGs, at most {@code perClass} per class (0: all).
     *
     * @return the number of images written
     */
    public static int writeFolder(IdxImages.Data data, String split, Path out, Set<Integer> classes, int perClass)
            throws IOException {
        int[] written = new int[CLASSES.size()];
        int total = 0;
        for (int i = 0; i < data.size(); i++) {
            int c = data.labels()[i];
            if (!classes.contains(c) || (perClass > 0 && written[c] >= perClass)) {
                continue;
            }
            Path dir = out.resolve(split).resolve(CLASSES.get(c));
            if (written[c] == 0) {
                Files.createDirectories(dir);
            }
            BufferedImage img = new BufferedImage(data.cols(), data.rows(), BufferedImage.TYPE_BYTE_GRAY);
            WritableRaster r = img.getRaster();
            byte[] px = data.pixels()[i];
            for (int y = 0; y < data.rows(); y++) {
                for (int x = 0; x < data.cols(); x++) {
                    r.setSample(x, y, 0, px[y * data.cols() + x] & 0xff);
                }
            }
            ImageIO.write(img, "png", dir.resolve(String.format(Locale.ROOT, "%s-%05d.png", split, i)).toFile());
            written[c]++;
            total++;
        }
        return total;
    }
}
