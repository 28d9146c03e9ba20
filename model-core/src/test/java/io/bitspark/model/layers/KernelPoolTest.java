package io.bitspark.model.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicIntegerArray;

import org.junit.jupiter.api.Test;

/** {@link KernelPool#parallelFor}: every index once, the caller taking part, failures and nesting. */
class KernelPoolTest {

    /** Nested calls finish because every caller works on its own loop (a pool of two threads cannot run them all). */
    @Test
    @org.junit.jupiter.api.Timeout(60)
    void everyIndexRunsOnceAndTheCallReturnsAfterTheLast() throws Exception {
        for (int n : new int[] {0, 1, 2, 3, 64, 1000}) {
            AtomicIntegerArray runs = new AtomicIntegerArray(Math.max(n, 1));
            KernelPool.parallelFor(n, i -> {
                if (i % 7 == 0) {
                    // Slow indices: the call must still wait for them.
                    try {
                        Thread.sleep(1);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                runs.incrementAndGet(i);
            });
            for (int i = 0; i < n; i++) {
                assertEquals(1, runs.get(i), "n=" + n + " index " + i);
            }
        }
        // Several callers at once (task threads of one executor), each with nested calls.
        Thread[] callers = new Thread[4];
        AtomicIntegerArray cells = new AtomicIntegerArray(4 * 50 * 20);
        for (int t = 0; t < callers.length; t++) {
            int id = t;
            callers[t] = new Thread(() -> KernelPool.parallelFor(50, i -> KernelPool.parallelFor(20,
                    j -> cells.incrementAndGet((id * 50 + i) * 20 + j))));
            callers[t].start();
        }
        for (Thread t : callers) {
            t.join();
        }
        for (int i = 0; i < cells.length(); i++) {
            assertEquals(1, cells.get(i), "cell " + i);
        }
    }

    @Test
    @org.junit.jupiter.api.Timeout(60)
    void theCallerTakesPartAndAFailureIsRethrownAfterTheRest() {
        Thread caller = Thread.currentThread();
        boolean[] callerRan = {false};
        // Each index takes 0.2 ms, so a pool thread cannot take all 200 before the caller starts.
        KernelPool.parallelFor(200, i -> {
            if (Thread.currentThread() == caller) {
                callerRan[0] = true;
            }
            java.util.concurrent.locks.LockSupport.parkNanos(200_000);
        });
        assertTrue(callerRan[0], "the calling thread took no index");

        IllegalArgumentException boom = new IllegalArgumentException("index 5");
        AtomicIntegerArray finished = new AtomicIntegerArray(1);
        IllegalArgumentException thrown = assertThrows(IllegalArgumentException.class, () -> KernelPool.parallelFor(100, i -> {
            if (i == 5) {
                throw boom;
            }
            finished.incrementAndGet(0);
        }));
        assertSame(boom, thrown);
        assertTrue(finished.get(0) < 50, "after a failure the remaining indices are skipped: " + finished.get(0) + " ran");
        // The pool still works after a failure.
        AtomicIntegerArray again = new AtomicIntegerArray(10);
        KernelPool.parallelFor(10, again::incrementAndGet);
        for (int i = 0; i < 10; i++) {
            assertEquals(1, again.get(i));
        }
    }
}
