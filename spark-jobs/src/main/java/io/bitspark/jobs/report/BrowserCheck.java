package io.bitspark.jobs.report;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens a report page in headless Chromium, as a reader's browser would: every image must load (decoded, with a
 * size), every relative link must name a file next to the page, and nothing may point off the machine (the page
 * is offline). Writes a screenshot of the whole page beside it. The page itself is not changed: the check runs on
 * a copy with a small script that lists what did not load, read back from the DOM Chromium prints.
 */
public final class BrowserCheck {

    private static final Logger LOG = LoggerFactory.getLogger(BrowserCheck.class);
    private static final Pattern SRC = Pattern.compile("<img[^>]*\\bsrc=\"([^\"]*)\"");
    private static final Pattern HREF = Pattern.compile("<a[^>]*\\bhref=\"([^\"]*)\"");
    private static final Pattern VERDICT = Pattern.compile("<pre id=\"bit-check\">([^<]*)</pre>");

    /** What the browser saw. {@code problems} is empty when the page is whole. */
    public record Result(int images, int links, List<String> problems, Path screenshot) {
        public boolean ok() {
            return problems.isEmpty();
        }
    }

    private BrowserCheck() {}

    /** The Chromium binary: {@code BIT_CHROMIUM}, else {@code chromium} or {@code chromium-browser} on the PATH; null if none. */
    public static Path chromium() {
        String env = System.getenv("BIT_CHROMIUM");
        if (env != null && !env.isBlank()) {
            Path p = Path.of(env);
            return Files.isExecutable(p) ? p : null;
        }
        String path = System.getenv("PATH");
        for (String dir : (path == null ? "/usr/bin" : path).split(java.io.File.pathSeparator)) {
            for (String name : new String[] {"chromium", "chromium-browser"}) {
                Path p = Path.of(dir, name);
                if (Files.isExecutable(p)) {
                    return p;
                }
            }
        }
        return null;
    }

    /** Checks {@code page} (a local HTML file) and writes {@code screenshot.png} beside it. */
    public static Result check(Path page) throws IOException, InterruptedException {
        Path browser = chromium();
        if (browser == null) {
            throw new IOException("headless Chromium not found (install Debian's chromium, or set BIT_CHROMIUM to its binary)");
        }
        page = page.toAbsolutePath().normalize();
        Path dir = page.getParent();
        String html = Files.readString(page, StandardCharsets.UTF_8);
        List<String> problems = new ArrayList<>();
        int images = 0;
        for (Matcher m = SRC.matcher(html); m.find(); ) {
            images++;
            problems.addAll(local(dir, m.group(1), "image"));
        }
        int links = 0;
        for (Matcher m = HREF.matcher(html); m.find(); ) {
            links++;
            String href = m.group(1);
            if (!href.startsWith("#")) {
                problems.addAll(local(dir, href, "link"));
            }
        }
        // What the browser could load: a copy of the page with a script that reports images that did not decode.
        Path probe = Files.createTempFile(dir, ".bit-check-", ".html");
        try {
            String script = "<script>window.addEventListener('load',function(){var bad=[];"
                    + "document.querySelectorAll('img').forEach(function(i){if(!i.complete||i.naturalWidth===0)"
                    + "bad.push(i.getAttribute('src'));});var p=document.createElement('pre');p.id='bit-check';"
                    + "p.textContent='images='+document.images.length+' broken='+bad.join('|');"
                    + "document.body.appendChild(p);});</script>";
            Files.writeString(probe, html.replace("</body>", script + "</body>"), StandardCharsets.UTF_8);
            String dom = run(browser, dir, "--dump-dom", probe.toUri().toString());
            Matcher v = VERDICT.matcher(dom);
            if (!v.find()) {
                problems.add("the browser did not finish loading the page (no verdict in its DOM)");
            } else {
                String verdict = v.group(1);
                LOG.info("browser: {}", verdict);
                String broken = verdict.substring(verdict.indexOf("broken=") + "broken=".length());
                if (!broken.isEmpty()) {
                    for (String b : broken.split("\\|")) {
                        problems.add("image " + b + ": the browser could not load or decode it");
                    }
                }
            }
        } finally {
            Files.deleteIfExists(probe);
        }
        Path shot = dir.resolve("screenshot.png");
        Files.deleteIfExists(shot);
        // Tall enough for the whole page: two plots per row, plus the text and tables above them.
        int rows = (int) html.chars().filter(ch -> ch == '\n').count() + html.split("<tr>", -1).length;
        int height = 800 + 480 * ((images + 1) / 2) + 30 * rows;
        run(browser, dir, "--screenshot=" + shot, "--window-size=1400," + Math.min(height, 16000), page.toUri().toString());
        if (!Files.exists(shot) || Files.size(shot) == 0) {
            problems.add("no screenshot was written");
        }
        return new Result(images, links, List.copyOf(problems), shot);
    }

    /** An image or link of the page: a file beside it, inside its folder; nothing off the machine. */
    private static List<String> local(Path dir, String ref, String what) {
        String lower = ref.toLowerCase(Locale.ROOT);
        if (lower.contains("://") || lower.startsWith("//") || lower.startsWith("javascript:")) {
            return List.of(what + " " + ref + ": points off this page's folder (the report is offline)");
        }
        String path = ref.replaceFirst("[?#].*$", "");
        Path target = dir.resolve(java.net.URLDecoder.decode(path, StandardCharsets.UTF_8)).normalize();
        if (!target.startsWith(dir.getParent() == null ? dir : dir.getParent())) {
            return List.of(what + " " + ref + ": outside the run");
        }
        if (!Files.isRegularFile(target)) {
            return List.of(what + " " + ref + ": no such file " + target);
        }
        return List.of();
    }

    private static String run(Path browser, Path dir, String... args) throws IOException, InterruptedException {
        Path profile = Files.createTempDirectory("bit-chromium-");
        List<String> cmd = new ArrayList<>(List.of(browser.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--hide-scrollbars", "--no-first-run", "--allow-file-access-from-files",
                "--virtual-time-budget=10000", "--user-data-dir=" + profile));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile("bit-chromium-", ".out");
        try {
            Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(false)
                    .redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("headless Chromium did not finish within 120 s: " + String.join(" ", cmd));
            }
            return Files.readString(out, StandardCharsets.UTF_8);
        } finally {
            Files.deleteIfExists(out);
            try (var walk = Files.walk(profile)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }
}
