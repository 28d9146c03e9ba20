package io.bitspark.jobs.suite;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import javax.imageio.ImageIO;

import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.data.category.DefaultCategoryDataset;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import io.bitspark.jobs.report.RunReport;
import io.bitspark.model.checkpoint.ArtifactStore;

/**
 * The suite's results: per-task top-1 for each init, the mean of each group and the mean over tasks (VTAB's
 * score), as {@code suite.json}, {@code suite.md} and {@code report/index.html} with a bar chart. A failed
 * task shows its error and is left out of the means, which then say over how many tasks they are.
 */
public final class SuiteReport {

    private SuiteReport() {}

    /** Means per init: group name (and "all") to mean top-1, with the number of tasks each covers. */
    public record Mean(double top1, int tasks, int of) {}

    public static Map<String, Map<String, Mean>> means(List<SuiteRunner.TaskResult> results) {
        Map<String, Map<String, Mean>> out = new LinkedHashMap<>();
        for (String init : inits(results)) {
            Map<String, Mean> m = new LinkedHashMap<>();
            List<String> groups = new ArrayList<>(groups(results));
            groups.add("all");
            for (String g : groups) {
                List<SuiteRunner.TaskResult> rs = results.stream()
                        .filter(r -> r.init().equals(init) && (g.equals("all") || r.group().equals(g))).toList();
                double[] ok = rs.stream().filter(SuiteRunner.TaskResult::ok).mapToDouble(SuiteRunner.TaskResult::top1).toArray();
                m.put(g, new Mean(ok.length == 0 ? Double.NaN : java.util.Arrays.stream(ok).average().orElse(Double.NaN), ok.length, rs.size()));
            }
            out.put(init, m);
        }
        return out;
    }

    /** One Markdown table: a row per task, then per group and overall means; a column per init. */
    public static String table(List<SuiteRunner.TaskResult> results) {
        List<String> inits = inits(results);
        StringBuilder sb = new StringBuilder("| group | task | classes | train | test |");
        inits.forEach(i -> sb.append(' ').append(i).append(" top-1 |"));
        sb.append("\n| --- | --- | --- | --- | --- |");
        inits.forEach(i -> sb.append(" --- |"));
        sb.append('\n');
        for (String task : tasks(results)) {
            SuiteRunner.TaskResult any = any(results, task);
            sb.append(String.format(Locale.ROOT, "| %s | %s | %d | %d | %d |", any.group(), task, any.classes(), any.trainSize(), any.testSize()));
            for (String i : inits) {
                SuiteRunner.TaskResult r = find(results, task, i);
                sb.append(r == null ? " - |" : r.ok() ? String.format(Locale.ROOT, " %.3f |", r.top1()) : " failed |");
            }
            sb.append('\n');
        }
        Map<String, Map<String, Mean>> means = means(results);
        for (String g : means.get(inits.get(0)).keySet()) {
            sb.append("| ").append(g.equals("all") ? "**all**" : g).append(" | ").append(g.equals("all") ? "**mean**" : "mean")
                    .append(" | | | |");
            for (String i : inits) {
                Mean m = means.get(i).get(g);
                String v = Double.isNaN(m.top1()) ? "-" : String.format(Locale.ROOT, "%.3f", m.top1());
                if (g.equals("all")) {
                    v = "**" + v + "**";
                }
                sb.append(' ').append(v).append(m.tasks() < m.of() ? " (" + m.tasks() + " of " + m.of() + " tasks)" : "").append(" |");
            }
            sb.append('\n');
        }
        results.stream().filter(r -> !r.ok()).forEach(r -> sb.append("\nfailed: ").append(r.task()).append(" (").append(r.init())
                .append("): ").append(r.error()).append('\n'));
        return sb.toString();
    }

    /** Writes suite.json, suite.md and report/index.html (+ report/suite.png) to {@code out}. */
    public static void write(ArtifactStore out, SuiteSpec suite, Map<String, Object> header, List<SuiteRunner.TaskResult> results)
            throws IOException {
        Map<String, Object> json = new LinkedHashMap<>(header);
        json.put("suite", suite.name());
        json.put("suite_file", suite.source());
        json.put("tasks", results);
        json.put("means", means(results));
        try (OutputStream os = out.create("suite.json")) {
            os.write(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(json));
        }
        String table = table(results);
        StringBuilder md = new StringBuilder("# Transfer suite '" + suite.name() + "'\n\n");
        header.forEach((k, v) -> md.append("- ").append(k).append(": ").append(v).append('\n'));
        md.append('\n').append(table);
        try (OutputStream os = out.create("suite.md")) {
            os.write(md.toString().getBytes(StandardCharsets.UTF_8));
        }
        html(out, suite, header, results);
    }

    private static void html(ArtifactStore out, SuiteSpec suite, Map<String, Object> header, List<SuiteRunner.TaskResult> results)
            throws IOException {
        StringBuilder h = new StringBuilder("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>bit suite report</title>"
                + "<style>body{font-family:sans-serif;margin:2em}img{max-width:90%}table{border-collapse:collapse}"
                + "td,th{border:1px solid #ccc;padding:4px 8px}td.n{text-align:right}</style></head><body>");
        h.append("<h1>Transfer suite ").append(RunReport.escape(suite.name())).append("</h1><table>");
        header.forEach((k, v) -> h.append("<tr><th>").append(RunReport.escape(k)).append("</th><td>").append(RunReport.escape(String.valueOf(v))).append("</td></tr>"));
        h.append("</table><h2>Top-1 per task</h2><table><tr><th>group</th><th>task</th><th>classes</th><th>train</th><th>test</th>");
        List<String> inits = inits(results);
        inits.forEach(i -> h.append("<th>").append(RunReport.escape(i)).append(" top-1</th>"));
        h.append("</tr>");
        for (String task : tasks(results)) {
            SuiteRunner.TaskResult any = any(results, task);
            h.append(String.format(Locale.ROOT, "<tr><td>%s</td><td>%s</td><td class=n>%d</td><td class=n>%d</td><td class=n>%d</td>",
                    RunReport.escape(any.group()), RunReport.escape(task), any.classes(), any.trainSize(), any.testSize()));
            for (String i : inits) {
                SuiteRunner.TaskResult r = find(results, task, i);
                h.append("<td class=n>").append(r == null ? "-" : r.ok() ? String.format(Locale.ROOT, "%.3f", r.top1())
                        : "failed: " + RunReport.escape(String.valueOf(r.error()))).append("</td>");
            }
            h.append("</tr>");
        }
        Map<String, Map<String, Mean>> means = means(results);
        for (String g : means.get(inits.get(0)).keySet()) {
            h.append("<tr><th>").append(RunReport.escape(g)).append("</th><th>mean</th><td></td><td></td><td></td>");
            for (String i : inits) {
                Mean m = means.get(i).get(g);
                h.append("<th class=n>").append(Double.isNaN(m.top1()) ? "-" : String.format(Locale.ROOT, "%.3f", m.top1()))
                        .append(m.tasks() < m.of() ? " (" + m.tasks() + " of " + m.of() + ")" : "").append("</th>");
            }
            h.append("</tr>");
        }
        h.append("</table>");
        chart(out, results);
        h.append("<p><img src=\"suite.png\" alt=\"top-1 per task\"></p>");
        h.append("<p>The same results as data: suite.json and suite.md beside this folder.</p></body></html>\n");
        try (OutputStream os = out.create("report/index.html")) {
            os.write(h.toString().getBytes(StandardCharsets.UTF_8));
        }
    }

    private static void chart(ArtifactStore out, List<SuiteRunner.TaskResult> results) throws IOException {
        DefaultCategoryDataset d = new DefaultCategoryDataset();
        for (String i : inits(results)) {
            for (String task : tasks(results)) {
                SuiteRunner.TaskResult r = find(results, task, i);
                if (r != null && r.ok()) {
                    d.addValue(r.top1(), i, r.group() + "/" + task);
                }
            }
        }
        NumberAxis y = new NumberAxis("top-1");
        y.setRange(0, 1);
        BarRenderer r = new BarRenderer();
        r.setBarPainter(new StandardBarPainter());
        r.setShadowVisible(false);
        for (int i = 0; i < d.getRowCount(); i++) {
            r.setSeriesPaint(i, RunReport.PALETTE[i % RunReport.PALETTE.length]);
            r.setSeriesOutlineStroke(i, new BasicStroke(0.5f));
        }
        CategoryPlot plot = new CategoryPlot(d, new CategoryAxis("group/task"), y, r);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        JFreeChart chart = new JFreeChart("Top-1 per task", JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        BufferedImage img = chart.createBufferedImage(900, 480);
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        ImageIO.write(img, "png", bos);
        try (OutputStream os = out.create("report/suite.png")) {
            os.write(bos.toByteArray());
        }
    }

    static List<String> inits(List<SuiteRunner.TaskResult> results) {
        Set<String> s = new LinkedHashSet<>();
        results.forEach(r -> s.add(r.init()));
        return new ArrayList<>(s);
    }

    static List<String> tasks(List<SuiteRunner.TaskResult> results) {
        Set<String> s = new LinkedHashSet<>();
        results.forEach(r -> s.add(r.task()));
        return new ArrayList<>(s);
    }

    static Set<String> groups(List<SuiteRunner.TaskResult> results) {
        Set<String> s = new LinkedHashSet<>();
        results.forEach(r -> s.add(r.group()));
        return s;
    }

    static SuiteRunner.TaskResult find(List<SuiteRunner.TaskResult> results, String task, String init) {
        return results.stream().filter(r -> r.task().equals(task) && r.init().equals(init)).findFirst().orElse(null);
    }

    /** Any init's result for the task (its size and group are the same for all). */
    static SuiteRunner.TaskResult any(List<SuiteRunner.TaskResult> results, String task) {
        return results.stream().filter(r -> r.task().equals(task)).findFirst().orElseThrow();
    }
}
