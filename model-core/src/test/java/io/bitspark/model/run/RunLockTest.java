package io.bitspark.model.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.bitspark.model.checkpoint.LocalStore;

class RunLockTest {

    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aSecondDriverRefusesNamingTheOwner(@TempDir Path tmp) throws Exception {
        LocalStore store = new LocalStore(tmp);
        try (RunLock first = RunLock.acquire(store, "bit pretrain A", Duration.ofSeconds(60))) {
            RunLock.LockedException e = assertThrows(RunLock.LockedException.class,
                    () -> RunLock.acquire(store, "bit pretrain B", Duration.ofSeconds(60)));
            assertTrue(e.getMessage().contains("bit pretrain A") && e.getMessage().contains("pid " + ProcessHandle.current().pid())
                    && e.getMessage().contains(RunLock.host()), e.getMessage());
            first.check();
        }
        assertFalse(Files.exists(tmp.resolve(RunLock.FILE)), "released on close");
        RunLock.acquire(store, "bit pretrain B", Duration.ofSeconds(60)).close();
    }

    @Test
    void aLockOfAnExitedProcessOnThisHostIsTakenOverAtOnce(@TempDir Path tmp) throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        Files.writeString(tmp.resolve(RunLock.FILE), JSON.writeValueAsString(java.util.Map.of("token", "t0", "host", RunLock.host(),
                "pid", gone.pid(), "command", "bit pretrain (killed)", "heartbeat", System.currentTimeMillis())));
        try (RunLock lock = RunLock.acquire(new LocalStore(tmp), "bit pretrain", Duration.ofSeconds(600))) {
            assertEquals(ProcessHandle.current().pid(), ((Number) lock.owner().get("pid")).longValue());
        }
    }

    @Test
    void aLockWithoutHeartbeatIsTakenOverAfterTheTimeout(@TempDir Path tmp) throws Exception {
        Files.writeString(tmp.resolve(RunLock.FILE), JSON.writeValueAsString(java.util.Map.of("token", "t0", "host", "elsewhere",
                "pid", 1, "command", "bit pretrain (other host)", "heartbeat", System.currentTimeMillis() - 5_000)));
        LocalStore store = new LocalStore(tmp);
        assertThrows(RunLock.LockedException.class, () -> RunLock.acquire(store, "bit pretrain", Duration.ofSeconds(60)));
        RunLock.acquire(store, "bit pretrain", Duration.ofSeconds(2)).close();
    }

    /** The owner's heartbeat keeps the lock fresh; when another driver took it over anyway, the owner stops. */
    @Test
    void theOwnerNoticesWhenItsLockWasTakenOver(@TempDir Path tmp) throws Exception {
        LocalStore store = new LocalStore(tmp);
        try (RunLock lock = RunLock.acquire(store, "bit pretrain", Duration.ofMillis(800))) {
            long beat0 = JSON.readTree(tmp.resolve(RunLock.FILE).toFile()).get("heartbeat").asLong();
            Thread.sleep(1500);
            long beat1 = JSON.readTree(tmp.resolve(RunLock.FILE).toFile()).get("heartbeat").asLong();
            assertTrue(beat1 > beat0, "heartbeat moved");
            assertThrows(RunLock.LockedException.class, () -> RunLock.acquire(store, "bit pretrain B", Duration.ofMillis(800)));
            Files.writeString(tmp.resolve(RunLock.FILE), JSON.writeValueAsString(java.util.Map.of("token", "intruder", "host", "elsewhere",
                    "pid", 1, "command", "bit pretrain C", "heartbeat", System.currentTimeMillis())));
            Thread.sleep(1000);
            RunLock.LockedException e = assertThrows(RunLock.LockedException.class, lock::check);
            assertTrue(e.getMessage().contains("bit pretrain C"), e.getMessage());
        }
        assertTrue(Files.readString(tmp.resolve(RunLock.FILE)).contains("intruder"), "the new owner's lock is left alone");
    }
}
