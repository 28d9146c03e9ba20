package io.bitspark.model.layers;

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

    /**
     * Runs {@code body} for 0..n-1: the calling thread and up to {@code THREADS - 1} pool threads take indices in turn
     * until none is left, and the call returns once every index has run (in the caller alone when there is one thread
     * or task). The caller starts at once: a pool thread parked between steps takes 50-200 us to wake on this
     * machine's VM, which on a small layer is longer than the work, and one that wakes after the caller has taken
     * every index finds nothing to do. Since every caller works on its own loop, nested calls finish even when all pool
     * threads are busy. Which thread runs an index is left to chance, so bodies write per-index results.
     * The first exception a body throws is rethrown here after every index has finished or been skipped.
     */
    static void parallelFor(int n, java.util.function.IntConsumer body) {
        if (THREADS == 1 || n <= 1) {
            for (int i = 0; i < n; i++) {
                body.accept(i);
            }
            return;
        }
        Loop loop = new Loop(n, body);
        for (int h = Math.min(THREADS, n) - 1; h > 0; h--) {
            POOL.execute(loop::work);
        }
        loop.work();
        loop.await();
    }

    /** One {@link #parallelFor} call: the next index to take, how many have finished, the first failure. */
    private static final class Loop {
        private final int n;
        private final java.util.function.IntConsumer body;
        private final java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
        private final java.util.concurrent.atomic.AtomicInteger done = new java.util.concurrent.atomic.AtomicInteger();
        private final Thread caller = Thread.currentThread();
        private volatile Throwable failure;

        Loop(int n, java.util.function.IntConsumer body) {
            this.n = n;
            this.body = body;
        }

        void work() {
            for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) {
                try {
                    if (failure == null) {
                        body.accept(i);
                    }
                } catch (Throwable t) {
                    synchronized (this) {
                        if (failure == null) {
                            failure = t;
                        }
                    }
                } finally {
                    if (done.incrementAndGet() == n) {
                        java.util.concurrent.locks.LockSupport.unpark(caller);
                    }
                }
            }
        }

        void await() {
            while (done.get() < n) {
                java.util.concurrent.locks.LockSupport.park(this);
            }
            Throwable t = failure;
            if (t instanceof RuntimeException e) {
                throw e;
            }
            if (t instanceof Error e) {
                throw e;
            }
            if (t != null) {
                throw new IllegalStateException(t);
            }
        }
    }

    /** Runs {@code body} for 0..n-1 on the kernel thread pool (sized by OMP_NUM_THREADS). */
    public static void parallel(int n, java.util.function.IntConsumer body) {
        parallelFor(n, body);
    }
}
