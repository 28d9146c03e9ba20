package io.bitspark.model.checkpoint;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** An {@link ArtifactStore} on the local file system, rooted at a directory. */
public final class LocalStore implements ArtifactStore {

    private final Path root;

    public LocalStore(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    public Path root() {
        return root;
    }

    Path resolve(String path) {
        Path p = path.isEmpty() ? root : root.resolve(path).normalize();
        if (!p.startsWith(root)) {
            throw new IllegalArgumentException("path escapes the store root " + root + ": " + path);
        }
        return p;
    }

    @Override
    public OutputStream create(String path) throws IOException {
        Path p = resolve(path);
        Files.createDirectories(p.getParent());
        return new BufferedOutputStream(Files.newOutputStream(p), 1 << 16);
    }

    @Override
    public InputStream open(String path) throws IOException {
        Path p = resolve(path);
        if (!Files.isRegularFile(p)) {
            throw new NoSuchFileException(p.toString());
        }
        return Files.newInputStream(p);
    }

    @Override
    public boolean exists(String path) {
        return Files.exists(resolve(path));
    }

    @Override
    public long size(String path) throws IOException {
        return Files.size(resolve(path));
    }

    @Override
    public List<String> list(String dir) throws IOException {
        Path p = resolve(dir);
        List<String> out = new ArrayList<>();
        if (!Files.isDirectory(p)) {
            return out;
        }
        try (Stream<Path> s = Files.list(p)) {
            s.map(c -> c.getFileName().toString()).sorted().forEach(out::add);
        }
        return out;
    }

    @Override
    public void delete(String path) throws IOException {
        Path p = resolve(path);
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path c : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(c);
            }
        }
    }

    @Override
    public String uri(String path) {
        return resolve(path).toUri().toString();
    }

    @Override
    public LocalFile localFile(String path) {
        return new LocalFile(resolve(path), false);
    }
}
