package io.bitspark.data.prepare;

import java.io.Serializable;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Where a manifest's paths may point: the manifest's own folder and every {@code --allow-root}. A path is resolved
 * against the manifest's folder ({@code img/a.jpg}, {@code ../x}, {@code /abs}, {@code file:///...},
 * {@code http://...}) and normalised; only results inside a root are read. Nothing outside is opened or fetched:
 * HTTP(S) in particular only when an allowed root says so.
 */
public final class DataRoots implements Serializable {

    private final List<URI> roots;

    /** {@code base}: the manifest's folder (qualified URI); {@code allowed}: the extra roots. */
    public DataRoots(String base, List<String> allowed) {
        List<URI> r = new ArrayList<>();
        r.add(directory(base));
        for (String a : allowed) {
            URI u = directory(a);
            if (u.getScheme() == null) {
                throw new IllegalArgumentException("--allow-root " + a + ": needs a scheme (file:/..., s3a://bucket/..., https://host/...)");
            }
            r.add(u);
        }
        this.roots = List.copyOf(r);
    }

    private static URI directory(String s) {
        String d = s.endsWith("/") ? s : s + "/";
        try {
            return new URI(d).normalize();
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("not a URI: " + s + " (" + e.getMessage() + ")");
        }
    }

    /** A resolved path: its URI (null when outside every root) and, when outside, why. */
    public record Resolved(String uri, String outside) {}

    public Resolved resolve(String path) {
        URI target;
        try {
            target = hasScheme(path) ? new URI(path).normalize() : roots.get(0).resolve(new URI(null, null, path, null)).normalize();
        } catch (URISyntaxException | IllegalArgumentException e) {
            return new Resolved(null, "path '" + path + "' is not a valid URI or path: " + e.getMessage());
        }
        for (URI root : roots) {
            if (inside(target, root)) {
                return new Resolved(new org.apache.hadoop.fs.Path(target).toString(), null);
            }
        }
        return new Resolved(null, "path '" + path + "' resolves to " + target + ", outside the data root " + roots.get(0)
                + (roots.size() > 1 ? " and the allowed roots " + roots.subList(1, roots.size()) : "") + " (--allow-root admits more)");
    }

    static boolean hasScheme(String p) {
        return p.matches("^[A-Za-z][A-Za-z0-9+.-]*:.*") && !p.matches("^[A-Za-z]:[\\\\/].*");
    }

    static boolean inside(URI target, URI root) {
        if (!eq(scheme(target), scheme(root)) || !eq(target.getRawAuthority(), root.getRawAuthority())) {
            return false;
        }
        String tp = target.getPath();
        String rp = root.getPath();
        return tp != null && rp != null && !tp.contains("/../") && !tp.startsWith("../") && tp.startsWith(rp) && tp.length() > rp.length();
    }

    /** file:/x and file:///x are the same place; a missing scheme on a root never matches. */
    private static String scheme(URI u) {
        return u.getScheme() == null ? null : u.getScheme().toLowerCase(Locale.ROOT);
    }

    private static boolean eq(String a, String b) {
        return (a == null ? "" : a).equals(b == null ? "" : b);
    }

    /**
     * For a local file: null when its real path (symbolic links followed) is inside a local root, else why not. Other
     * file systems have no links to follow out of a root.
     */
    public String outsideAfterLinks(String uri) {
        URI u = URI.create(new org.apache.hadoop.fs.Path(uri).toUri().toString());
        if (!"file".equals(scheme(u))) {
            return null;
        }
        try {
            java.nio.file.Path real = java.nio.file.Path.of(u.getPath()).toRealPath();
            for (URI root : roots) {
                if ("file".equals(scheme(root))) {
                    java.nio.file.Path r = java.nio.file.Path.of(root.getPath());
                    java.nio.file.Path rr = java.nio.file.Files.exists(r) ? r.toRealPath() : r;
                    if (real.startsWith(rr) && !real.equals(rr)) {
                        return null;
                    }
                }
            }
            return "'" + u.getPath() + "' is a symbolic link to " + real + ", outside the data roots " + roots;
        } catch (java.io.IOException e) {
            return null; // missing files are reported when read
        }
    }

    public List<String> roots() {
        return roots.stream().map(URI::toString).toList();
    }
}
