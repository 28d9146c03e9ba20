package io.bitspark.model.run;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.bitspark.model.checkpoint.ArtifactStore;
import io.bitspark.model.checkpoint.CheckpointException;
import io.bitspark.model.checkpoint.ProjectCheckpoint;
import io.bitspark.model.checkpoint.Provenance;

/**
 * A pre-training run's directory, and the only code that knows its layout: {@code checkpoints/step-NNNNNNNN/}
 * (project checkpoints), {@code checkpoints/step-NNNNNNNN.corrupt/} (checkpoints that failed verification, kept for
 * inspection), {@code metrics/} ({@link MetricsLog}), {@code run.lock} ({@link RunLock}) and {@code report/}.
 *
 * <p>Resuming walks the checkpoints from newest to oldest and continues from the first that verifies in full
 * (size and SHA-256 of the model file); pruning keeps the newest checkpoints that were verified when written (or
 * when resumed from), so a damaged checkpoint never counts towards the ones kept.
 */
public final class RunDirectory {

    private static final Logger LOG = LoggerFactory.getLogger(RunDirectory.class);
    public static final String CHECKPOINTS = "checkpoints";
    static final Pattern STEP_DIR = Pattern.compile("^step-(\\d+)$");
    static final Pattern CORRUPT_DIR = Pattern.compile("^step-(\\d+)\\.corrupt(?:-\\d+)?$");

    /** A checkpoint of the run: its directory relative to the run, and its step. */
    public record Checkpoint(String dir, long step) {}

    /** A checkpoint that verified in full, with its provenance, and the newer ones that did not. */
    public record Sound(Checkpoint checkpoint, Provenance provenance, List<String> setAside) {}

    private final ArtifactStore store;

    public RunDirectory(ArtifactStore store) {
        this.store = store;
    }

    public ArtifactStore store() {
        return store;
    }

    public String uri(String path) {
        return store.uri(path);
    }

    /** The directory of the checkpoint at {@code step}, relative to the run. */
    public static String checkpointDir(long step) {
        return String.format(Locale.ROOT, "%s/step-%08d", CHECKPOINTS, step);
    }

    /** Every checkpoint directory (complete or not, but not those set aside as corrupt), newest first. */
    public List<Checkpoint> checkpoints() throws IOException {
        List<Checkpoint> out = new ArrayList<>();
        for (String name : store.list(CHECKPOINTS)) {
            Matcher m = STEP_DIR.matcher(name);
            if (m.matches()) {
                out.add(new Checkpoint(CHECKPOINTS + "/" + name, Long.parseLong(m.group(1))));
            }
        }
        out.sort(Comparator.comparingLong(Checkpoint::step).reversed());
        return out;
    }

    /** True when the run holds any checkpoint directory (a new run must not start over it). */
    public boolean hasCheckpoints() throws IOException {
        return !checkpoints().isEmpty();
    }

    /** The newest checkpoint whose files are all there (cheap: sizes, no checksums), or null. */
    public Checkpoint newestComplete() throws IOException {
        for (Checkpoint c : checkpoints()) {
            if (ProjectCheckpoint.isComplete(store, c.dir())) {
                return c;
            }
        }
        return null;
    }

    /**
     * The newest checkpoint that verifies in full, or null when none does. Newer ones that fail (incomplete, a size
     * or SHA-256 mismatch, unreadable provenance) are renamed {@code step-N.corrupt} and logged with the reason.
     */
    public Sound newestSound() throws IOException {
        List<String> setAside = new ArrayList<>();
        for (Checkpoint c : checkpoints()) {
            Provenance p;
            try {
                p = ProjectCheckpoint.verify(store, c.dir());
            } catch (CheckpointException e) {
                String to = corruptName(c);
                LOG.warn("checkpoint {} is unsound, set aside as {}: {}", store.uri(c.dir()), store.uri(to), e.getMessage());
                store.rename(c.dir(), to);
                setAside.add(store.uri(c.dir()) + ": " + e.getMessage());
                continue;
            }
            if (!ProjectCheckpoint.isVerified(store, c.dir())) {
                ProjectCheckpoint.markVerified(store, c.dir());
            }
            if (!setAside.isEmpty()) {
                LOG.warn("falling back to checkpoint {} (step {}): {} newer checkpoint(s) did not verify", store.uri(c.dir()),
                        c.step(), setAside.size());
            }
            return new Sound(c, p, setAside);
        }
        return null;
    }

    private String corruptName(Checkpoint c) throws IOException {
        String base = c.dir() + ".corrupt";
        String name = base;
        for (int i = 2; store.exists(name); i++) {
            name = base + "-" + i;
        }
        return name;
    }

    /**
     * Keeps the newest {@code keep} verified checkpoints; removes every checkpoint directory older than the oldest of
     * them (complete, incomplete or set aside). With fewer than {@code keep} verified checkpoints nothing is removed.
     */
    public void prune(int keep) throws IOException {
        List<Checkpoint> all = checkpoints();
        List<Checkpoint> verified = all.stream().filter(c -> ProjectCheckpoint.isVerified(store, c.dir())).toList();
        if (verified.size() < keep) {
            return;
        }
        long oldestKept = verified.get(keep - 1).step();
        for (String name : store.list(CHECKPOINTS)) {
            Matcher m = STEP_DIR.matcher(name);
            Matcher x = CORRUPT_DIR.matcher(name);
            long step = m.matches() ? Long.parseLong(m.group(1)) : x.matches() ? Long.parseLong(x.group(1)) : Long.MAX_VALUE;
            if (step < oldestKept) {
                LOG.debug("pruning {}", store.uri(CHECKPOINTS + "/" + name));
                store.delete(CHECKPOINTS + "/" + name);
            }
        }
    }

    /** Takes the run's lock (see {@link RunLock}). */
    public RunLock lock(String command, Duration timeout) throws IOException {
        return RunLock.acquire(store, command, timeout);
    }

    /** Opens the metrics log of a new attempt starting at {@code fromStep}. */
    public MetricsLog metrics(long fromStep, int syncEvery) throws IOException {
        return MetricsLog.open(store, fromStep, syncEvery);
    }

    /** The run's metrics in step order, as its lineage of attempts leaves them. */
    public List<Map<String, Object>> history() throws IOException {
        return MetricsLog.history(store);
    }
}
