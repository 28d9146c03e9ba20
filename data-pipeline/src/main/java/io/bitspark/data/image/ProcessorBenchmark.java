package io.bitspark.data.image;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Per-image cost of {@code prepare} in one thread: read, validate, decode, orient, resize, hash and
 * re-encode every file of a directory tree, best of {@code repeat} passes (the first warms the JIT).
 */
public final class ProcessorBenchmark {

    /** Images, accepted images and best pass time in seconds. */
    public record Result(int images, int ok, double seconds) {
        public double imagesPerSecond() {
            return images / seconds;
        }
    }

    private ProcessorBenchmark() {}

    public static Result run(Path dir, ImageProcessor.Config config, int repeat) throws IOException {
        List<Path> files = new ArrayList<>();
        try (Stream<Path> s = Files.walk(dir)) {
            s.filter(Files::isRegularFile).sorted().forEach(files::add);
        }
        ImageProcessor p = new ImageProcessor(config);
        double best = Double.MAX_VALUE;
        int ok = 0;
        for (int r = 0; r < Math.max(1, repeat); r++) {
            long t0 = System.nanoTime();
            ok = 0;
            for (Path f : files) {
                if (p.process(Files.readAllBytes(f)).ok()) {
                    ok++;
                }
            }
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        return new Result(files.size(), ok, best);
    }
}
