package io.bitspark.jobs.suite;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.stream.Stream;

import javax.imageio.ImageIO;

import io.bitspark.data.idx.FashionMnist;
import io.bitspark.data.idx.IdxImages;

/**
 * The local transfer suite, made from real images on this machine, VTAB-1k style: each task has
 * {@code trainPerTask} training and {@code testPerTask} test images as image folders, in three groups.
 * <ul>
 *   <li>natural: {@code fashion-unseen}, the four Fashion-MNIST classes the demo does not pre-train on
 *   (Shirt, Sneaker, Bag, Ankle_boot); {@code nature-patches}, which of the twelve photographs of Debian's
 *   {@code mate-backgrounds} (nature) a patch comes from (train patches from the left three quarters of each
 *   photograph, test patches from the right quarter, so no test pixel was seen in training);</li>
 *   <li>structured, as VTAB's structured group asks about geometry rather than identity: {@code rotation}
 *   (0/90/180/270 degrees of a Fashion-MNIST item, flips off), {@code count} (1-5 items in a mosaic) and
 *   {@code location} (which cell of a 3x3 grid holds the item, flips off).</li>
 * </ul>
 * Structured tasks draw items of all ten classes from the second half of Fashion-MNIST's train split for
 * training and from its test split for testing; the demo pre-trains on the first images of the train split.
 * Everything is drawn from one seed, so the same command writes the same images.
 */
public final class SuiteData {

    /** A task of the local suite: name, group, whether horizontal flips keep its labels. */
    public record Task(String name, String group, boolean flip) {}

    public static final List<Task> TASKS = List.of(
            new Task("fashion-unseen", "natural", true),
            new Task("nature-patches", "natural", true),
            new Task("rotation", "structured", false),
            new Task("count", "structured", true),
            new Task("location", "structured", false));

    public static final Path NATURE_PHOTOS = Path.of("/usr/share/backgrounds/mate/nature");

    private static final int CANVAS = 64;
    private static final int CELL = 20;
    private static final int ITEM = 18;
    private static final String[] CELLS = {"top-left", "top", "top-right", "left", "centre", "right", "bottom-left", "bottom",
            "bottom-right"};

    private final IdxImages.Data fashionTrain;
    private final IdxImages.Data fashionTest;
    private final Path photos;
    private final long seed;

    public SuiteData(Path fashionDir, Path photos, long seed) throws IOException {
        this.fashionTrain = FashionMnist.read(fashionDir, "train");
        this.fashionTest = FashionMnist.read(fashionDir, "test");
        this.photos = photos;
        this.seed = seed;
    }

    /** The tasks named (all when {@code names} is null or empty); an unknown name is an error listing the known ones. */
    public static List<Task> select(List<String> names) {
        if (names == null || names.isEmpty()) {
            return TASKS;
        }
        List<Task> out = new ArrayList<>();
        for (String n : names) {
            out.add(TASKS.stream().filter(t -> t.name().equals(n.strip())).findFirst().orElseThrow(() -> new IllegalArgumentException(
                    "unknown task '" + n + "'; the local suite has " + TASKS.stream().map(Task::name).toList())));
        }
        return out;
    }

    /** Writes each task's {@code <out>/<task>/{train,test}/<class>/*.png}; returns the image count per task and split. */
    public List<String> write(Path out, int trainPerTask, int testPerTask, List<Task> tasks) throws IOException {
        List<String> lines = new ArrayList<>();
        for (Task t : tasks) {
            for (String split : List.of("train", "test")) {
                int n = split.equals("train") ? trainPerTask : testPerTask;
                Random rng = new Random(seed * 1_000_003L + (t.name().hashCode() * 31L + split.hashCode()));
                Path dir = out.resolve(t.name()).resolve(split);
                int written = switch (t.name()) {
                    case "fashion-unseen" -> fashionUnseen(dir, split, n);
                    case "nature-patches" -> naturePatches(dir, split, n, rng);
                    case "rotation" -> rotation(dir, split, n, rng);
                    case "count" -> count(dir, split, n, rng);
                    case "location" -> location(dir, split, n, rng);
                    default -> throw new IllegalStateException(t.name());
                };
                lines.add(String.format(Locale.ROOT, "%s/%s: %d images", t.name(), split, written));
            }
        }
        return lines;
    }

    /** Fashion-MNIST classes 6-9, balanced, the first images of each class in the split. */
    private int fashionUnseen(Path dir, String split, int n) throws IOException {
        IdxImages.Data d = split.equals("train") ? fashionTrain : fashionTest;
        int[] classes = {6, 7, 8, 9};
        int total = 0;
        for (int j = 0; j < classes.length; j++) {
            int c = classes[j];
            int want = n / classes.length + (j < n % classes.length ? 1 : 0);
            int got = 0;
            for (int i = 0; i < d.size() && got < want; i++) {
                if (d.labels()[i] == c) {
                    write(gray(d, i), dir, FashionMnist.CLASSES.get(c), split + "-" + i);
                    got++;
                }
            }
            total += got;
        }
        return total;
    }

    /** Patches of the nature photographs: squares of 15-35% of the shorter side, shown at 48x48. */
    private int naturePatches(Path dir, String split, int n, Random rng) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(photos)) {
            files = new ArrayList<>(s.filter(p -> p.getFileName().toString().toLowerCase(Locale.ROOT).matches(".*\\.(jpe?g|png)$")).toList());
        }
        Collections.sort(files);
        if (files.size() < 2) {
            throw new IllegalArgumentException(photos + " has " + files.size() + " photographs; install Debian's mate-backgrounds (bin/setup)");
        }
        int total = 0;
        for (int c = 0; c < files.size(); c++) {
            BufferedImage photo = ImageIO.read(files.get(c).toFile());
            if (photo == null) {
                throw new IOException(files.get(c) + " is not a readable image");
            }
            String name = files.get(c).getFileName().toString().replaceFirst("\\.[^.]+$", "");
            int w = photo.getWidth();
            int h = photo.getHeight();
            int x0 = split.equals("train") ? 0 : w * 3 / 4;
            int x1 = split.equals("train") ? w * 3 / 4 : w;
            int per = n / files.size() + (c < n % files.size() ? 1 : 0);
            for (int i = 0; i < per; i++) {
                int side = (int) (Math.min(w, h) * (0.15 + 0.20 * rng.nextDouble()));
                side = Math.min(side, x1 - x0);
                int x = x0 + rng.nextInt(x1 - x0 - side + 1);
                int y = rng.nextInt(h - side + 1);
                write(scaled(photo.getSubimage(x, y, side, side), 48, 48), dir, name, String.format(Locale.ROOT, "%s-%04d", split, i));
                total++;
            }
        }
        return total;
    }

    private int rotation(Path dir, String split, int n, Random rng) throws IOException {
        for (int i = 0; i < n; i++) {
            int q = i % 4;
            BufferedImage item = gray(items(split), itemIndex(split, rng));
            write(rotate(item, q), dir, (q * 90) + "deg", String.format(Locale.ROOT, "%s-%04d", split, i));
        }
        return n;
    }

    private int count(Path dir, String split, int n, Random rng) throws IOException {
        for (int i = 0; i < n; i++) {
            int k = 1 + i % 5;
            BufferedImage canvas = new BufferedImage(CANVAS, CANVAS, BufferedImage.TYPE_BYTE_GRAY);
            List<Integer> cells = new ArrayList<>(List.of(0, 1, 2, 3, 4, 5, 6, 7, 8));
            Collections.shuffle(cells, rng);
            for (int j = 0; j < k; j++) {
                place(canvas, gray(items(split), itemIndex(split, rng)), cells.get(j), rng);
            }
            write(canvas, dir, "count-" + k, String.format(Locale.ROOT, "%s-%04d", split, i));
        }
        return n;
    }

    private int location(Path dir, String split, int n, Random rng) throws IOException {
        for (int i = 0; i < n; i++) {
            int cell = i % 9;
            BufferedImage canvas = new BufferedImage(CANVAS, CANVAS, BufferedImage.TYPE_BYTE_GRAY);
            place(canvas, gray(items(split), itemIndex(split, rng)), cell, rng);
            write(canvas, dir, cell + "-" + CELLS[cell], String.format(Locale.ROOT, "%s-%04d", split, i));
        }
        return n;
    }

    private IdxImages.Data items(String split) {
        return split.equals("train") ? fashionTrain : fashionTest;
    }

    /** Training items come from the second half of the train split (the demo pre-trains on its first images). */
    private int itemIndex(String split, Random rng) {
        if (split.equals("train")) {
            int half = fashionTrain.size() / 2;
            return half + rng.nextInt(fashionTrain.size() - half);
        }
        return rng.nextInt(fashionTest.size());
    }

    /** An item shrunk to ITEM pixels in a cell of the 3x3 grid, jittered by up to one pixel each way. */
    private static void place(BufferedImage canvas, BufferedImage item, int cell, Random rng) {
        int margin = (CANVAS - 3 * CELL) / 2 + (CELL - ITEM) / 2;
        int x = margin + (cell % 3) * CELL + rng.nextInt(3) - 1;
        int y = margin + (cell / 3) * CELL + rng.nextInt(3) - 1;
        Graphics2D g = canvas.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.drawImage(item, x, y, ITEM, ITEM, null);
        g.dispose();
    }

    private static BufferedImage gray(IdxImages.Data d, int i) {
        BufferedImage img = new BufferedImage(d.cols(), d.rows(), BufferedImage.TYPE_BYTE_GRAY);
        byte[] px = d.pixels()[i];
        for (int y = 0; y < d.rows(); y++) {
            for (int x = 0; x < d.cols(); x++) {
                img.getRaster().setSample(x, y, 0, px[y * d.cols() + x] & 0xff);
            }
        }
        return img;
    }

    /** Rotation by {@code q} quarter turns clockwise. */
    static BufferedImage rotate(BufferedImage img, int q) {
        int w = img.getWidth();
        int h = img.getHeight();
        BufferedImage out = new BufferedImage(q % 2 == 0 ? w : h, q % 2 == 0 ? h : w, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int v = img.getRaster().getSample(x, y, 0);
                switch (q % 4) {
                    case 0 -> out.getRaster().setSample(x, y, 0, v);
                    case 1 -> out.getRaster().setSample(h - 1 - y, x, 0, v);
                    case 2 -> out.getRaster().setSample(w - 1 - x, h - 1 - y, 0, v);
                    default -> out.getRaster().setSample(y, w - 1 - x, 0, v);
                }
            }
        }
        return out;
    }

    private static BufferedImage scaled(BufferedImage src, int w, int h) {
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
        g.drawImage(src, 0, 0, w, h, null);
        g.dispose();
        return out;
    }

    private static void write(BufferedImage img, Path dir, String label, String name) throws IOException {
        Path d = dir.resolve(label);
        Files.createDirectories(d);
        ImageIO.write(img, "png", d.resolve(name + ".png").toFile());
    }
}
