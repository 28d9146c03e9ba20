package io.bitspark.jobs.pretrain;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.bitspark.model.checkpoint.ArtifactStore;

/**
 * One JSON line per logged step in {@code RUN/metrics/metrics-<first step>.jsonl}. Object stores cannot
 * append, so each run segment (a start or a resume) owns one file and rewrites it whole at every log; the
 * segments in step order are the run's history.
 */
public final class MetricsLog {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final ArtifactStore store;
    private final String path;
    private final List<String> lines = new ArrayList<>();

    public MetricsLog(ArtifactStore store, long firstStep) {
        this.store = store;
        this.path = String.format(Locale.ROOT, "metrics/metrics-%08d.jsonl", firstStep);
    }

    public String path() {
        return store.uri(path);
    }

    public void add(Map<String, Object> record) throws IOException {
        lines.add(JSON.writeValueAsString(record));
        try (OutputStream out = store.create(path)) {
            for (String l : lines) {
                out.write(l.getBytes(StandardCharsets.UTF_8));
                out.write('\n');
            }
        }
    }
}
