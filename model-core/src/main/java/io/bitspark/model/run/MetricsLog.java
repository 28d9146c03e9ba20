package io.bitspark.model.run;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.bitspark.model.checkpoint.ArtifactStore;

/**
 * The metrics of a run: one JSON object per line, one file per attempt ({@code metrics/attempt-0003-from-00000200.jsonl}:
 * the third start of the run, which continued from step 200). Lines are only ever appended: on stores that append
 * (local disks, HDFS) each line is written at once (it survives the process being killed) and the file is synced
 * every {@code syncEvery} lines and on close (it survives the machine); object stores cannot append, so there every
 * {@code syncEvery} lines become a new part file ({@code ...-part-00002.jsonl}). Nothing is ever rewritten, so the I/O
 * grows linearly with the run.
 *
 * <p>{@link #history} reads a run's lineage: attempts in the order they started; an attempt that continued from step
 * {@code s} supersedes every line past {@code s} of the attempts before it (they were lost with the state they
 * described). A line cut short by a kill is skipped with a warning.
 */
public final class MetricsLog implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(MetricsLog.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    public static final String DIR = "metrics";
    static final Pattern ATTEMPT = Pattern.compile("^attempt-(\\d+)-from-(\\d+)(?:-part-(\\d+))?\\.jsonl$");
    /** Segments written by earlier releases: one per start, named by its first step. */
    static final Pattern LEGACY = Pattern.compile("^metrics-(\\d+)\\.jsonl$");

    private final ArtifactStore store;
    private final int attempt;
    private final long fromStep;
    private final int syncEvery;
    private final ArtifactStore.Appender appender;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
    private int unsynced;
    private int part;

    private MetricsLog(ArtifactStore store, int attempt, long fromStep, int syncEvery) throws IOException {
        this.store = store;
        this.attempt = attempt;
        this.fromStep = fromStep;
        this.syncEvery = Math.max(1, syncEvery);
        this.appender = store.appender(DIR + "/" + name(null));
    }

    /** Opens the log of a new attempt that starts at {@code fromStep} (the next attempt number of the run). */
    public static MetricsLog open(ArtifactStore store, long fromStep, int syncEvery) throws IOException {
        int next = 1;
        for (String f : store.list(DIR)) {
            Matcher m = ATTEMPT.matcher(f);
            if (m.matches()) {
                next = Math.max(next, Integer.parseInt(m.group(1)) + 1);
            }
        }
        return new MetricsLog(store, next, fromStep, syncEvery);
    }

    private String name(Integer partNo) {
        String base = String.format(Locale.ROOT, "attempt-%04d-from-%08d", attempt, fromStep);
        return partNo == null ? base + ".jsonl" : String.format(Locale.ROOT, "%s-part-%05d.jsonl", base, partNo);
    }

    public int attempt() {
        return attempt;
    }

    /** Where this attempt's lines go. */
    public String path() {
        return store.uri(DIR + "/" + (appender != null ? name(null) : name(1).replace("-part-00001", "-part-*")));
    }

    public void add(Map<String, Object> record) throws IOException {
        byte[] line = (JSON.writeValueAsString(record) + "\n").getBytes(StandardCharsets.UTF_8);
        if (appender != null) {
            appender.write(line);
        } else {
            pending.write(line);
        }
        if (++unsynced >= syncEvery) {
            sync();
        }
    }

    /** Makes every line added so far durable. */
    public void sync() throws IOException {
        if (unsynced == 0) {
            return;
        }
        if (appender != null) {
            appender.sync();
        } else {
            try (OutputStream out = store.create(DIR + "/" + name(part + 1))) {
                pending.writeTo(out);
            }
            part++;
            pending.reset();
        }
        unsynced = 0;
    }

    @Override
    public void close() throws IOException {
        try {
            sync();
        } finally {
            if (appender != null) {
                appender.close();
            }
        }
    }

    /** One attempt's files, in order. */
    record Attempt(long from, List<String> files) {}

    /** The run's metrics lines in step order, superseded lines left out (see the class comment). */
    public static List<Map<String, Object>> history(ArtifactStore store) throws IOException {
        Map<Long, Attempt> attempts = new TreeMap<>();
        Map<Long, TreeMap<Integer, String>> parts = new TreeMap<>();
        Map<Long, Long> froms = new TreeMap<>();
        for (String f : store.list(DIR)) {
            Matcher m = ATTEMPT.matcher(f);
            Matcher l = LEGACY.matcher(f);
            if (m.matches()) {
                long order = Long.parseLong(m.group(1));
                froms.put(order, Long.parseLong(m.group(2)));
                parts.computeIfAbsent(order, x -> new TreeMap<>()).put(m.group(3) == null ? 0 : Integer.parseInt(m.group(3)), f);
            } else if (l.matches()) {
                // Older releases: attempts ordered by their first step, all before the attempts named by number.
                long from = Long.parseLong(l.group(1));
                long order = Long.MIN_VALUE / 2 + from;
                froms.put(order, from);
                parts.computeIfAbsent(order, x -> new TreeMap<>()).put(0, f);
            }
        }
        for (var e : parts.entrySet()) {
            attempts.put(e.getKey(), new Attempt(froms.get(e.getKey()), new ArrayList<>(e.getValue().values())));
        }
        List<Map<String, Object>> lines = new ArrayList<>();
        for (Attempt a : attempts.values()) {
            lines.removeIf(r -> step(r) > a.from());
            for (String f : a.files()) {
                lines.addAll(parse(store, DIR + "/" + f));
            }
        }
        TreeMap<Long, Map<String, Object>> byStep = new TreeMap<>();
        for (Map<String, Object> r : lines) {
            byStep.put(step(r), r);
        }
        List<Map<String, Object>> out = new ArrayList<>(byStep.values());
        out.sort(Comparator.comparingLong(MetricsLog::step));
        return out;
    }

    /** The attempts of a run: number (legacy segments: 0), first step and lines, for reports. */
    public static List<Map<String, Object>> attempts(ArtifactStore store) throws IOException {
        List<Map<String, Object>> out = new ArrayList<>();
        TreeMap<Long, long[]> seen = new TreeMap<>();
        for (String f : store.list(DIR)) {
            Matcher m = ATTEMPT.matcher(f);
            Matcher l = LEGACY.matcher(f);
            if (m.matches()) {
                seen.computeIfAbsent(Long.parseLong(m.group(1)), x -> new long[] {Long.parseLong(m.group(2)), 0})[1]
                        += parse(store, DIR + "/" + f).size();
            } else if (l.matches()) {
                seen.computeIfAbsent(Long.MIN_VALUE / 2 + Long.parseLong(l.group(1)), x -> new long[] {Long.parseLong(l.group(1)), 0})[1]
                        += parse(store, DIR + "/" + f).size();
            }
        }
        seen.forEach((order, v) -> {
            Map<String, Object> a = new LinkedHashMap<>();
            a.put("attempt", order < 0 ? 0 : order);
            a.put("from_step", v[0]);
            a.put("lines", v[1]);
            out.add(a);
        });
        return out;
    }

    static long step(Map<String, Object> r) {
        return r.get("step") instanceof Number n ? n.longValue() : -1;
    }

    static List<Map<String, Object>> parse(ArtifactStore store, String path) throws IOException {
        String text;
        try (InputStream in = store.open(path)) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        List<Map<String, Object>> out = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            if (line.isBlank()) {
                continue;
            }
            try {
                Map<String, Object> r = JSON.readValue(line, new TypeReference<Map<String, Object>>() {});
                if (step(r) < 0) {
                    throw new IOException("no step");
                }
                out.add(r);
            } catch (IOException e) {
                LOG.warn("{} line {}: skipped ({}): {}", store.uri(path), i + 1,
                        i == lines.length - 1 ? "cut short, the writer was stopped while writing it" : "not a metrics record",
                        line.length() > 80 ? line.substring(0, 80) + "..." : line);
            }
        }
        return out;
    }
}
