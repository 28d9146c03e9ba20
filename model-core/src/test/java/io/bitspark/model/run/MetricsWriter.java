package io.bitspark.model.run;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import io.bitspark.model.checkpoint.LocalStore;

/**
 * A process that writes metrics lines without end (syncing every 5) and reports each sync on stdout, for
 * {@link MetricsLogTest} to kill at a moment of its choosing: {@code MetricsWriter RUN_DIR}.
 */
public final class MetricsWriter {

    private MetricsWriter() {}

    public static void main(String[] args) throws Exception {
        try (MetricsLog log = MetricsLog.open(new LocalStore(Path.of(args[0])), 0, 5)) {
            for (long step = 1; ; step++) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("step", step);
                r.put("loss", 1.0 / step);
                r.put("padding", "x".repeat(200));
                log.add(r);
                if (step % 5 == 0) {
                    System.out.println("synced " + step);
                    System.out.flush();
                }
            }
        }
    }
}
