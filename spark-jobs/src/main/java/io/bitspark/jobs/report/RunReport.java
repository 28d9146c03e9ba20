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
            plot(run, html, byStep, "loss", "Training loss", "loss.png");
            plot(run, html, byStep, "lr", "Learning rate", "lr.png");
            plot(run, html, byStep, "images_per_sec", "Images per second", "throughput.png");
            for (String k : new String[] {"holdout_top1", "holdout_top5", "holdout_map"}) {
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
        XYSeriesCollection c = new XYSeriesCollection();
        html.append("<h2>Few-shot transfer</h2><table><tr><th>init</th><th>shots</th><th>fine-tune top-1 (median)</th><th>linear probe top-1 (median)</th></tr>");
        for (String init : ft.keySet()) {
            XYSeries a = new XYSeries(init + " fine-tune");
            XYSeries b = new XYSeries(init + " linear probe");
            for (int k : ft.get(init).keySet()) {
                double mf = median(ft.get(init).get(k));
                double ml = median(lp.get(init).get(k));
                a.add(k, mf);
                b.add(k, ml);
                html.append(String.format(Locale.ROOT, "<tr><td>%s</td><td>%d</td><td>%.3f</td><td>%.3f</td></tr>", escape(init), k, mf, ml));
            }
            c.addSeries(a);
            c.addSeries(b);
        }
        html.append("</table>");
        JFreeChart chart = ChartFactory.createXYLineChart("Few-shot accuracy", "images per class", "top-1", c,
                PlotOrientation.VERTICAL, true, false, false);
        png(run, chart, "fewshot.png");
        html.append("<img src=\"fewshot.png\" alt=\"few-shot accuracy\">");
    }

    private static void png(ArtifactStore run, JFreeChart chart, String file) throws IOException {
        chart.setBackgroundPaint(Color.WHITE);
        chart.getXYPlot().setBackgroundPaint(Color.WHITE);
        chart.getXYPlot().setDomainGridlinePaint(Color.LIGHT_GRAY);
        chart.getXYPlot().setRangeGridlinePaint(Color.LIGHT_GRAY);
        BufferedImage img = chart.createBufferedImage(800, 500);
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        ImageIO.write(img, "png", bos);
        try (OutputStream out = run.create("report/" + file)) {
            out.write(bos.toByteArray());
        }
    }

    private static double median(List<Double> v) {
        List<Double> s = new ArrayList<>(v);
        s.sort(Double::compare);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    private static String format(Object v) {
        return v instanceof Double d ? String.format(Locale.ROOT, "%.4g", d) : String.valueOf(v);
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
