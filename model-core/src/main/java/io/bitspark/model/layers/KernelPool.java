package io.bitspark.model.layers;

import java.util.stream.IntStream;

/**
 * The fused kernels' threads: one dedicated fork-join pool sized by OMP_NUM_THREADS (what libnd4j uses too, and
 * what Spark executors get per task slot from {@code spark.task.cpus}), else every core.
 */
public final class KernelPool {

    private KernelPool() {}

    /**
     * Threads for the kernels: OMP_NUM_THREADS when set (what libnd4j uses too, and what Spark executors get
     * per task slot from {@code spark.task.cpus}), else every core. A dedicated pool, so the kernels neither
     * oversubscribe a machine shared by several executors nor depend on the JVM's common pool size.
     */
    static final int THREADS = threads(System.getenv("OMP_NUM_THREADS"), Runtime.getRuntime().availableProcessors());

    private static final java.util.concurrent.ForkJoinPool POOL = new java.util.concurrent.ForkJoinPool(THREADS, pool -> {
        java.util.concurrent.ForkJoinWorkerThread t = java.util.concurrent.ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
        t.setName("bit-kernels-" + t.getPoolIndex());
        t.setDaemon(true);
        return t;
    }, null, false);

    static int threads(String ompNumThreads, int cores) {
        if (ompNumThreads != null) {
            try {
                int n = Integer.parseInt(ompNumThreads.trim().split(",")[0]);
                if (n > 0) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // fall through: libnd4j ignores an unparsable value too
            }
        }
        return Math.max(1, cores);
    }

    /** Runs {@code body} for 0..n-1 on the kernel pool (in the caller when there is one thread or task). */
    static void parallelFor(int n, java.util.function.IntConsumer body) {
        if (THREADS == 1 || n == 1) {
            for (int i = 0; i < n; i++) {
                body.accept(i);
            }
            return;
        }
        POOL.submit(() -> IntStream.range(0, n).parallel().forEach(body)).join();
    }

    /** Runs {@code body} for 0..n-1 on the kernel thread pool (sized by OMP_NUM_THREADS). */
    public static void parallel(int n, java.util.function.IntConsumer body) {
        parallelFor(n, body);
    }
}
