package io.bitspark.data.prepare;

import java.util.Locale;
import java.util.function.LongSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs "done / total, rate, ETA" every few seconds from a counter that executors update (a Spark
 * accumulator, which the driver sees as tasks finish). Total may be unknown (-1), e.g. images inside tars.
 */
final class ProgressReporter implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ProgressReporter.class);

    private final Thread thread;
    private volatile boolean running = true;

    ProgressReporter(String what, LongSupplier done, long total, long periodMillis) {
        long t0 = System.nanoTime();
        thread = new Thread(() -> {
            long last = -1;
            while (running) {
                try {
                    Thread.sleep(periodMillis);
                } catch (InterruptedException e) {
                    return;
                }
                long d = done.getAsLong();
                if (d == last) {
                    continue;
                }
                last = d;
                LOG.info(line(what, d, total, (System.nanoTime() - t0) / 1e9));
            }
        }, "bit-progress");
        thread.setDaemon(true);
        thread.start();
    }

    static String line(String what, long done, long total, double seconds) {
        double rate = seconds > 0 ? done / seconds : 0;
        if (total > 0) {
            long left = Math.max(0, total - done);
            String eta = rate > 0 ? duration(left / rate) : "?";
            return String.format(Locale.ROOT, "%s: %,d / %,d images (%.0f%%), %.1f images/s, ETA %s", what, done, total,
                    100.0 * done / total, rate, eta);
        }
        return String.format(Locale.ROOT, "%s: %,d images, %.1f images/s", what, done, rate);
    }

    static String duration(double s) {
        long t = Math.round(s);
        return String.format(Locale.ROOT, "%d:%02d:%02d", t / 3600, (t / 60) % 60, t % 60);
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
    }
}
