package io.bitspark.model.run;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.bitspark.model.checkpoint.ArtifactStore;

/**
 * The lock of a run directory: one driver at a time writes a run. {@code RUN/run.lock} names its owner (a token,
 * host, pid, user, start time) and carries a heartbeat that the owner rewrites every {@code timeout / 4}. A second
 * driver refuses with the owner named. A lock is stale, and taken over with a warning, when its heartbeat is older
 * than the timeout, or at once when it names a process on this host that no longer exists (a driver killed and
 * restarted on the same machine). The owner checks at each heartbeat that the lock is still its own; when another
 * driver has taken it over, {@link #check()} fails the run instead of letting two drivers interleave checkpoints.
 *
 * <p>What holds where: on local disks and HDFS, creating the lock is atomic, so two drivers starting together
 * cannot both win. Object stores (s3a) check and then write; the owner therefore reads the lock back after a short
 * settling delay and gives up when another token is there, which catches every race but one where both drivers
 * write within that delay and each reads its own copy (S3's strong read-after-write consistency makes the later
 * write win for every reader after it). Clocks: the heartbeat is compared with the reader's clock, so hosts need
 * clocks within a small fraction of the timeout (NTP).
 */
public final class RunLock implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RunLock.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    public static final String FILE = "run.lock";

    /** Thrown when another live driver holds the run. */
    public static final class LockedException extends IllegalStateException {
        public LockedException(String message) {
            super(message);
        }
    }

    private final ArtifactStore store;
    private final Map<String, Object> owner;
    private final Duration timeout;
    private final ScheduledExecutorService heartbeat;
    private volatile String lost;

    private RunLock(ArtifactStore store, Map<String, Object> owner, Duration timeout) {
        this.store = store;
        this.owner = owner;
        this.timeout = timeout;
        this.heartbeat = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "bit-run-lock");
            t.setDaemon(true);
            return t;
        });
        long every = Math.max(200, timeout.toMillis() / 4);
        heartbeat.scheduleWithFixedDelay(this::beat, every, every, TimeUnit.MILLISECONDS);
    }

    /** Takes the lock of the run in {@code store} for {@code command}, or throws {@link LockedException} naming the owner. */
    public static RunLock acquire(ArtifactStore store, String command, Duration timeout) throws IOException {
        Map<String, Object> me = new LinkedHashMap<>();
        me.put("token", UUID.randomUUID().toString());
        me.put("host", host());
        me.put("pid", ProcessHandle.current().pid());
        me.put("user", System.getProperty("user.name"));
        me.put("command", command);
        me.put("started", Instant.now().toString());
        for (int attempt = 0; attempt < 3; attempt++) {
            me.put("heartbeat", System.currentTimeMillis());
            try (OutputStream out = store.createNew(FILE)) {
                out.write(JSON.writeValueAsBytes(me));
            } catch (FileAlreadyExistsException e) {
                Map<String, Object> held = read(store);
                String stale = held == null ? "unreadable" : staleReason(held, timeout);
                if (stale == null) {
                    throw new LockedException(store.uri(FILE) + ": the run is in use by " + describe(held) + ". Wait for that driver to "
                            + "finish, stop it, or use another --output; a lock whose heartbeat stops is taken over after "
                            + timeout.toSeconds() + " s (bit.checkpoint.lock_timeout_s)");
                }
                LOG.warn("taking over the lock of {} from {} ({})", store.uri(""), held == null ? "an unknown owner" : describe(held), stale);
                store.delete(FILE);
                continue;
            }
            if (!store.atomicCreate()) {
                try {
                    Thread.sleep(Math.min(2000, timeout.toMillis() / 10));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while taking the run lock", e);
                }
            }
            Map<String, Object> back = read(store);
            if (back == null || !me.get("token").equals(back.get("token"))) {
                throw new LockedException(store.uri(FILE) + ": another driver took the run at the same time: "
                        + (back == null ? "unknown" : describe(back)));
            }
            LOG.info("locked run {} ({})", store.uri(""), describe(me));
            return new RunLock(store, me, timeout);
        }
        throw new LockedException(store.uri(FILE) + ": could not take the lock (it changed hands while trying)");
    }

    static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown-host";
        }
    }

    static Map<String, Object> read(ArtifactStore store) {
        try (InputStream in = store.open(FILE)) {
            return JSON.readValue(in, new TypeReference<Map<String, Object>>() {});
        } catch (IOException e) {
            return null;
        }
    }

    /** Why a held lock is stale, or null when its owner may be alive. */
    static String staleReason(Map<String, Object> held, Duration timeout) {
        long beat = held.get("heartbeat") instanceof Number n ? n.longValue() : 0;
        long age = System.currentTimeMillis() - beat;
        if (age > timeout.toMillis()) {
            return "no heartbeat for " + age / 1000 + " s";
        }
        if (host().equals(held.get("host")) && held.get("pid") instanceof Number pid
                && pid.longValue() != ProcessHandle.current().pid() && ProcessHandle.of(pid.longValue()).isEmpty()) {
            return "process " + pid + " on this host has exited";
        }
        return null;
    }

    static String describe(Map<String, Object> o) {
        long beat = o.get("heartbeat") instanceof Number n ? n.longValue() : 0;
        return String.format(java.util.Locale.ROOT, "%s (pid %s on %s, user %s, started %s, last heartbeat %d s ago, token %s)",
                o.get("command"), o.get("pid"), o.get("host"), o.get("user"), o.get("started"),
                (System.currentTimeMillis() - beat) / 1000, o.get("token"));
    }

    private void beat() {
        try {
            Map<String, Object> held = read(store);
            if (held != null && !owner.get("token").equals(held.get("token"))) {
                lost = "the lock was taken over by " + describe(held);
                LOG.error("run {}: {}", store.uri(""), lost);
                heartbeat.shutdown();
                return;
            }
            owner.put("heartbeat", System.currentTimeMillis());
            try (OutputStream out = store.create(FILE)) {
                out.write(JSON.writeValueAsString(owner).getBytes(StandardCharsets.UTF_8));
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("run {}: heartbeat of the lock failed ({}); retrying", store.uri(""), e.toString());
        }
    }

    /** Fails when this driver no longer owns the run (another one took it over after a missed heartbeat). */
    public void check() {
        if (lost != null) {
            throw new LockedException(store.uri(FILE) + ": stopping: " + lost);
        }
    }

    public Map<String, Object> owner() {
        return new LinkedHashMap<>(owner);
    }

    @Override
    public void close() {
        heartbeat.shutdownNow();
        try {
            heartbeat.awaitTermination(10, TimeUnit.SECONDS);
            Map<String, Object> held = read(store);
            if (held != null && owner.get("token").equals(held.get("token"))) {
                store.delete(FILE);
            }
        } catch (IOException | InterruptedException e) {
            LOG.warn("run {}: could not release the lock: {}", store.uri(""), e.toString());
        }
    }
}
