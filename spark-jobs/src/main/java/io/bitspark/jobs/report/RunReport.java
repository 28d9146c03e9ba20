package io.bitspark.jobs.report;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import javax.imageio.ImageIO;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.bitspark.model.checkpoint.ArtifactStore;
import io.bitspark.model.run.MetricsLog;

/**
 * An offline HTML page with PNG plots of a run: loss, learning rate, holdout metrics and images/s over
 * steps from {@code metrics/*.jsonl}, and few-shot accuracy against k from {@code fewshot.json} when present.
 */
public final class RunReport {

    private static final String HOLDOUT_TOP1 = io.bitspark.model.train.Metrics.named(io.bitspark.model.train.Metrics.HOLDOUT,
            io.bitspark.model.train.Metrics.TOP1);
    private static final String HOLDOUT_TOP5 = io.bitspark.model.train.Metrics.named(io.bitspark.model.train.Metrics.HOLDOUT,
            io.bitspark.model.train.Metrics.TOP5);
    private static final String HOLDOUT_MAP = io.bitspark.model.train.Metrics.named(io.bitspark.model.train.Metrics.HOLDOUT,
            io.bitspark.model.train.Metrics.MAP);

    private static final ObjectMapper JSON = new ObjectMapper();

    private RunReport() {}

    /** Writes {@code report/index.html} and its PNGs into the run; returns the page's URI. */
    public static String write(ArtifactStore run) throws IOException {
        // The run's lineage: attempts in the order they started, each superseding what came after the step it resumed from.
        TreeMap<Long, Map<String, Object>> byStep = new TreeMap<>();
        MetricsLog.history(run).forEach(r -> byStep.put(((Number) r.get("step")).longValue(), r));
        List<Map<String, Object>> attempts = MetricsLog.attempts(run);
        StringBuilder html = new StringBuilder("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>bit run report</title>"
                + "<style>body{font-family:sans-serif;margin:2em}img{max-width:48%;margin:0.5%}table{border-collapse:collapse}"
                + "td,th{border:1px solid #ccc;padding:4px 8px}</style></head><body>");
        html.append("<h1>Run ").append(escape(run.uri(""))).append("</h1>");
        if (!byStep.isEmpty()) {
            Map<String, Object> last = byStep.lastEntry().getValue();
            html.append("<p>").append(byStep.size()).append(" logged steps, last step ").append(byStep.lastKey()).append(": ");
            last.forEach((k, v) -> html.append(escape(k)).append(" = ").append(escape(format(v))).append("; "));
            html.append("</p>");
            if (attempts.size() > 1) {
                html.append("<p>Attempts (starts of the run; each continues from a checkpoint and supersedes later lines of "
                        + "the attempts before it): ");
                for (Map<String, Object> a : attempts) {
                    html.append("#").append(a.get("attempt")).append(" from step ").append(a.get("from_step")).append(" (")
                            .append(a.get("lines")).append(" lines); ");
                }
                html.append("</p>");
            }
            runTable(run, html, byStep);
            lossPlot(run, html, byStep);
            plot(run, html, byStep, "lr", "Learning rate", "lr.png");
            plot(run, html, byStep, "images_per_sec", "Images per second", "throughput.png");
            for (String k : new String[] {HOLDOUT_TOP1, HOLDOUT_TOP5, HOLDOUT_MAP}) {
                if (byStep.values().stream().anyMatch(r -> r.containsKey(k))) {
                    plot(run, html, byStep, k, "Holdout " + k.substring(8), k + ".png");
                }
            }
            fewShotOverSteps(run, html, byStep);
        } else {
            html.append("<p>No metrics found under metrics/.</p>");
        }
        if (run.exists("fewshot.json")) {
            List<Map<String, Object>> rows;
            try (InputStream in = run.open("fewshot.json")) {
                rows = JSON.readValue(in, new TypeReference<List<Map<String, Object>>>() {});
            }
            fewShot(run, html, rows);
        }
        html.append("</body></html>\n");
        try (OutputStream out = run.create("report/index.html")) {
            out.write(html.toString().getBytes(StandardCharsets.UTF_8));
        }
        return run.uri("report/index.html");
    }

    private static void plot(ArtifactStore run, StringBuilder html, TreeMap<Long, Map<String, Object>> byStep, String key,
                             String title, String file) throws IOException {
        XYSeries s = new XYSeries(key);
        byStep.forEach((step, r) -> {
            if (r.get(key) instanceof Number n) {
                s.add(step.doubleValue(), n.doubleValue());
            }
        });
        if (s.getItemCount() == 0) {
            return;
        }
        JFreeChart chart = ChartFactory.createXYLineChart(title, "global step", key, new XYSeriesCollection(s),
                PlotOrientation.VERTICAL, false, false, false);
        png(run, chart, file);
        html.append("<img src=\"").append(file).append("\" alt=\"").append(escape(title)).append("\">");
    }

    /** Interval means of the loss in bold, the last step of each interval faint behind them. */
    private static void lossPlot(ArtifactStore run, StringBuilder html, TreeMap<Long, Map<String, Object>> byStep) throws IOException {
        XYSeries mean = new XYSeries("loss (mean over each log interval)");
        XYSeries raw = new XYSeries("loss of the interval's last step");
        byStep.forEach((step, r) -> {
            if (r.get("loss") instanceof Number n) {
                mean.add(step.doubleValue(), n.doubleValue());
            }
            if (r.get("loss_last") instanceof Number n) {
                raw.add(step.doubleValue(), n.doubleValue());
            }
        });
        if (mean.getItemCount() == 0) {
            return;
        }
        XYSeriesCollection c = new XYSeriesCollection();
        c.addSeries(mean);
        if (raw.getItemCount() > 0) {
            c.addSeries(raw);
        }
        JFreeChart chart = ChartFactory.createXYLineChart("Training loss", "global step", "loss", c, PlotOrientation.VERTICAL,
                raw.getItemCount() > 0, false, false);
        if (raw.getItemCount() > 0) {
            chart.getXYPlot().getRenderer().setSeriesPaint(1, new Color(0x0072B2 | 0x40000000, true));
            chart.getXYPlot().getRenderer().setSeriesStroke(1, new java.awt.BasicStroke(1f));
        }
        png(run, chart, "loss.png");
        html.append("<img src=\"loss.png\" alt=\"Training loss\">");
    }

    /** What the run is: from the newest checkpoint's provenance (preset, data, batch, steps, seed, code). */
    private static void runTable(ArtifactStore run, StringBuilder html, TreeMap<Long, Map<String, Object>> byStep) {
        try {
            Map<String, String> rows = describe(run);
            if (rows == null) {
                return;
            }
            html.append("<table>");
            rows.forEach((k, v) -> html.append("<tr><th>").append(escape(k)).append("</th><td>").append(escape(v)).append("</td></tr>"));
            html.append("</table>");
        } catch (IOException | RuntimeException e) {
            html.append("<p>No checkpoint provenance readable: ").append(escape(String.valueOf(e.getMessage()))).append("</p>");
        }
    }

    /** The run's table rows from its newest complete checkpoint's provenance; null when it has none. */
    private static Map<String, String> describe(ArtifactStore run) throws IOException {
        io.bitspark.model.run.RunDirectory.Checkpoint c = new io.bitspark.model.run.RunDirectory(run).newestComplete();
        if (c == null) {
            return null;
        }
        io.bitspark.model.checkpoint.Provenance p = io.bitspark.model.checkpoint.ProjectCheckpoint.readProvenance(run, c.dir());
        Map<String, Object> cfg = p.config() == null ? Map.of() : p.config();
        Map<String, String> rows = new LinkedHashMap<>();
        rows.put("model", p.spec() == null ? "?" : p.spec().name() + " (" + cfg.getOrDefault("model.preset", "?") + ")");
        rows.put("data", cfg.getOrDefault("run.data", "?") + " (manifest " + p.dataManifestHash() + ")");
        rows.put("global batch", cfg.getOrDefault("train.global_batch", "?") + " (" + cfg.getOrDefault("run.workers", "?") + " workers x "
                + cfg.getOrDefault("run.batch_per_worker", "?") + ")");
        rows.put("engine", String.valueOf(cfg.getOrDefault("run.engine", "?")));
        rows.put("steps", p.globalStep() + " of " + cfg.getOrDefault("run.total_steps", "?") + " (" + cfg.getOrDefault("run.steps_per_epoch", "?")
                + " per epoch)");
        rows.put("seed", String.valueOf(p.seed()));
        rows.put("newest checkpoint", run.uri(c.dir()) + " (" + p.createdAt() + ", " + p.codeVersion() + ")");
        rows.put("settings changed on resume", cfg.containsKey("run.lineage") ? String.valueOf(cfg.get("run.lineage")) : "none");
        return rows;
    }

    /**
     * Several runs on one page, {@code out/index.html}: a table with a column per run (what it is, from its newest
     * checkpoint, and its last logged values) and each metric of their logs overlaid, one line per run.
     */
    public static String compare(List<ArtifactStore> runs, List<String> labels, ArtifactStore out) throws IOException {
        if (runs.size() != labels.size() || runs.isEmpty()) {
            throw new IllegalArgumentException("one label per run, at least one run");
        }
        List<TreeMap<Long, Map<String, Object>>> logs = new ArrayList<>();
        List<Map<String, String>> tables = new ArrayList<>();
        for (ArtifactStore run : runs) {
            TreeMap<Long, Map<String, Object>> byStep = new TreeMap<>();
            MetricsLog.history(run).forEach(r -> byStep.put(((Number) r.get("step")).longValue(), r));
            logs.add(byStep);
            Map<String, String> t;
            try {
                t = describe(run);
            } catch (IOException | RuntimeException e) {
                t = null;
            }
            tables.add(t == null ? Map.of() : t);
        }
        StringBuilder html = new StringBuilder("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>bit run comparison</title>"
                + "<style>body{font-family:sans-serif;margin:2em}img{max-width:48%;margin:0.5%}table{border-collapse:collapse}"
                + "td,th{border:1px solid #ccc;padding:4px 8px}</style></head><body>");
        html.append("<h1>").append(runs.size()).append(" runs</h1><table><tr><th></th>");
        labels.forEach(l -> html.append("<th>").append(escape(l)).append("</th>"));
        html.append("</tr><tr><th>run</th>");
        runs.forEach(r -> html.append("<td>").append(escape(r.uri(""))).append("</td>"));
        html.append("</tr>");
        java.util.LinkedHashSet<String> keys = new java.util.LinkedHashSet<>();
        tables.forEach(t -> keys.addAll(t.keySet()));
        keys.remove("newest checkpoint");
        for (String k : keys) {
            html.append("<tr><th>").append(escape(k)).append("</th>");
            tables.forEach(t -> html.append("<td>").append(escape(t.getOrDefault(k, "-"))).append("</td>"));
            html.append("</tr>");
        }
        String[] last = {"step", "loss", HOLDOUT_TOP1, HOLDOUT_TOP5, HOLDOUT_MAP, "images_per_sec"};
        for (String k : last) {
            if (logs.stream().noneMatch(l -> !l.isEmpty() && l.lastEntry().getValue().containsKey(k))) {
                continue;
            }
            html.append("<tr><th>last ").append(escape(k)).append("</th>");
            logs.forEach(l -> html.append("<td>").append(escape(l.isEmpty() || !l.lastEntry().getValue().containsKey(k) ? "-"
                    : format(l.lastEntry().getValue().get(k)))).append("</td>"));
            html.append("</tr>");
        }
        html.append("</table>");
        String[][] plots = {{"loss", "Training loss (mean over each log interval)"}, {HOLDOUT_TOP1, "Holdout top1"},
                {HOLDOUT_TOP5, "Holdout top5"}, {HOLDOUT_MAP, "Holdout mAP"}, {"lr", "Learning rate"},
                {"images_per_sec", "Images per second"}};
        for (String[] plot : plots) {
            XYSeriesCollection c = new XYSeriesCollection();
            for (int i = 0; i < runs.size(); i++) {
                XYSeries s = new XYSeries(labels.get(i));
                logs.get(i).forEach((step, r) -> {
                    if (r.get(plot[0]) instanceof Number n) {
                        s.add(step.doubleValue(), n.doubleValue());
                    }
                });
                c.addSeries(s);
            }
            if (c.getSeries().stream().allMatch(s -> ((XYSeries) s).getItemCount() == 0)) {
                continue;
            }
            JFreeChart chart = ChartFactory.createXYLineChart(plot[1], "global step", plot[0], c, PlotOrientation.VERTICAL,
                    true, false, false);
            png(out, chart, plot[0] + ".png", "");
            html.append("<img src=\"").append(plot[0]).append(".png\" alt=\"").append(escape(plot[1])).append("\">");
        }
        html.append("</body></html>\n");
        try (OutputStream o = out.create("index.html")) {
            o.write(html.toString().getBytes(StandardCharsets.UTF_8));
        }
        return out.uri("index.html");
    }

    /** The upstream few-shot evaluator's probes ({@code fewshot_<k>shot}, mean over tasks) against the step, one line per k. */
    private static void fewShotOverSteps(ArtifactStore run, StringBuilder html, TreeMap<Long, Map<String, Object>> byStep)
            throws IOException {
        java.util.regex.Pattern key = java.util.regex.Pattern.compile("^fewshot_(\\d+)shot$");
        TreeMap<Integer, XYSeries> series = new TreeMap<>();
        byStep.forEach((step, r) -> r.forEach((k, v) -> {
            java.util.regex.Matcher m = key.matcher(k);
            if (m.matches() && v instanceof Number n) {
                int shots = Integer.parseInt(m.group(1));
                series.computeIfAbsent(shots, x -> new XYSeries(shots + "-shot")).add(step.doubleValue(), n.doubleValue());
            }
        }));
        if (series.isEmpty()) {
            return;
        }
        XYSeriesCollection c = new XYSeriesCollection();
        series.values().forEach(c::addSeries);
        JFreeChart chart = ChartFactory.createXYLineChart("Few-shot linear probe on frozen features (mean over tasks)", "global step",
                "top-1", c, PlotOrientation.VERTICAL, true, false, false);
        png(run, chart, "fewshot_steps.png");
        html.append("<img src=\"fewshot_steps.png\" alt=\"few-shot accuracy over the run\">");
    }

    private static void fewShot(ArtifactStore run, StringBuilder html, List<Map<String, Object>> rows) throws IOException {
        Map<String, TreeMap<Integer, List<Double>>> ft = new LinkedHashMap<>();
        Map<String, TreeMap<Integer, List<Double>>> lp = new LinkedHashMap<>();
        for (Map<String, Object> r : rows) {
            String init = String.valueOf(r.get("init"));
            int k = ((Number) r.get("shots")).intValue();
            ft.computeIfAbsent(init, x -> new TreeMap<>()).computeIfAbsent(k, x -> new ArrayList<>()).add(((Number) r.get("fineTuneTop1")).doubleValue());
            lp.computeIfAbsent(init, x -> new TreeMap<>()).computeIfAbsent(k, x -> new ArrayList<>()).add(((Number) r.get("probeTop1")).doubleValue());
        }
        org.jfree.data.xy.YIntervalSeriesCollection c = new org.jfree.data.xy.YIntervalSeriesCollection();
        java.util.TreeSet<Integer> shots = new java.util.TreeSet<>();
        html.append("<h2>Few-shot transfer</h2><table><tr><th>init</th><th>shots</th><th>fine-tune top-1: median (min-max)</th>"
                + "<th>linear probe top-1: median (min-max)</th></tr>");
        for (String init : ft.keySet()) {
            org.jfree.data.xy.YIntervalSeries a = new org.jfree.data.xy.YIntervalSeries(init + " fine-tune");
            org.jfree.data.xy.YIntervalSeries b = new org.jfree.data.xy.YIntervalSeries(init + " linear probe");
            for (int k : ft.get(init).keySet()) {
                List<Double> f = ft.get(init).get(k);
                List<Double> l = lp.get(init).get(k);
                double mf = median(f);
                double ml = median(l);
                a.add(k, mf, java.util.Collections.min(f), java.util.Collections.max(f));
                b.add(k, ml, java.util.Collections.min(l), java.util.Collections.max(l));
                shots.add(k);
                html.append(String.format(Locale.ROOT, "<tr><td>%s</td><td>%d</td><td>%.3f (%.3f-%.3f)</td><td>%.3f (%.3f-%.3f)</td></tr>",
                        escape(init), k, mf, java.util.Collections.min(f), java.util.Collections.max(f), ml,
                        java.util.Collections.min(l), java.util.Collections.max(l)));
            }
            c.addSeries(a);
            c.addSeries(b);
        }
        html.append("</table>");
        // Shots on a log axis with a tick at each k measured; median lines with min-max bands over the seeds.
        org.jfree.chart.axis.LogAxis x = new org.jfree.chart.axis.LogAxis("images per class (log scale)") {
            @Override
            protected List refreshTicksHorizontal(java.awt.Graphics2D g2, java.awt.geom.Rectangle2D dataArea,
                                                  org.jfree.chart.ui.RectangleEdge edge) {
                List<org.jfree.chart.axis.Tick> ticks = new ArrayList<>();
                for (int k : shots) {
                    ticks.add(new org.jfree.chart.axis.NumberTick(org.jfree.chart.axis.TickType.MAJOR, k, String.valueOf(k),
                            org.jfree.chart.ui.TextAnchor.TOP_CENTER, org.jfree.chart.ui.TextAnchor.CENTER, 0.0));
                }
                return ticks;
            }
        };
        if (!shots.isEmpty()) {
            x.setRange(shots.first() / 1.3, shots.last() * 1.3);
        }
        org.jfree.chart.axis.NumberAxis y = new org.jfree.chart.axis.NumberAxis("top-1");
        y.setAutoRangeIncludesZero(false);
        org.jfree.chart.renderer.xy.DeviationRenderer r = new org.jfree.chart.renderer.xy.DeviationRenderer(true, true);
        r.setAlpha(0.18f);
        for (int i = 0; i < c.getSeriesCount(); i++) {
            Color col = PALETTE[i % PALETTE.length];
            r.setSeriesPaint(i, col);
            r.setSeriesFillPaint(i, col);
            r.setSeriesStroke(i, new java.awt.BasicStroke(2.2f, java.awt.BasicStroke.CAP_ROUND, java.awt.BasicStroke.JOIN_ROUND,
                    1f, i % 2 == 1 ? new float[] {7f, 5f} : null, 0f));
        }
        org.jfree.chart.plot.XYPlot plot = new org.jfree.chart.plot.XYPlot(c, x, y, r);
        JFreeChart chart = new JFreeChart("Few-shot accuracy (median over seeds, min-max band)", JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        png(run, chart, "fewshot.png");
        html.append("<img src=\"fewshot.png\" alt=\"few-shot accuracy\">");
    }

    /** Okabe and Ito's colour-blind-safe palette (no yellow: it vanishes on white). */
    public static final Color[] PALETTE = {new Color(0x0072B2), new Color(0xD55E00), new Color(0x009E73), new Color(0xCC79A7),
            new Color(0xE69F00), new Color(0x56B4E9), new Color(0x000000)};

    private static void png(ArtifactStore run, JFreeChart chart, String file) throws IOException {
        png(run, chart, file, "report/");
    }

    private static void png(ArtifactStore run, JFreeChart chart, String file, String folder) throws IOException {
        chart.setBackgroundPaint(Color.WHITE);
        org.jfree.chart.renderer.xy.XYItemRenderer renderer = chart.getXYPlot().getRenderer();
        if (!(renderer instanceof org.jfree.chart.renderer.xy.DeviationRenderer)) {
            for (int i = 0; i < chart.getXYPlot().getSeriesCount(); i++) {
                if (renderer.getSeriesPaint(i) == null) {
                    renderer.setSeriesPaint(i, PALETTE[i % PALETTE.length]);
                    renderer.setSeriesStroke(i, new java.awt.BasicStroke(2f));
                }
            }
        }
        chart.getXYPlot().setBackgroundPaint(Color.WHITE);
        chart.getXYPlot().setDomainGridlinePaint(Color.LIGHT_GRAY);
        chart.getXYPlot().setRangeGridlinePaint(Color.LIGHT_GRAY);
        BufferedImage img = chart.createBufferedImage(800, 500);
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        ImageIO.write(img, "png", bos);
        try (OutputStream out = run.create(folder + file)) {
            out.write(bos.toByteArray());
        }
    }

    private static double median(List<Double> v) {
        return io.bitspark.model.stats.Stats.median(v);
    }

    private static String format(Object v) {
        return v instanceof Double d ? String.format(Locale.ROOT, "%.4g", d) : String.valueOf(v);
    }

    /** Text for an HTML page: the four characters that would change its markup, escaped. */
    public static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
