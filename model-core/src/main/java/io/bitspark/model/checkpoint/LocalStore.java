package io.bitspark.model.checkpoint;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * An {@link ArtifactStore} on the local file system, rooted at a directory. Files are durable when their stream
 * closes: the file and its directory are fsynced (a machine that loses power after a checkpoint was reported
 * written still has it).
 */
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
        return durable(p, FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING));
    }

    @Override
    public OutputStream createNew(String path) throws IOException {
        Path p = resolve(path);
        Files.createDirectories(p.getParent());
        return durable(p, FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE));
    }

    /** A buffered stream on {@code ch} that, on close, fsyncs the file, then its directory and that one's parent. */
    private OutputStream durable(Path p, FileChannel ch) {
        return new DurableOutputStream(Channels.newOutputStream(ch), () -> ch.force(true), ch, () -> syncDirectory(p.getParent()));
    }

    /** fsyncs a directory so that entries created or renamed in it survive a crash (and its own entry in its parent). */
    static void syncDirectory(Path dir) {
        for (Path d : dir.getParent() == null ? List.of(dir) : List.of(dir, dir.getParent())) {
            try (FileChannel c = FileChannel.open(d, StandardOpenOption.READ)) {
                c.force(true);
            } catch (IOException e) {
                // Some file systems refuse to open directories; their metadata is then as durable as they make it.
            }
        }
    }

    @Override
    public void rename(String from, String to) throws IOException {
        Path a = resolve(from);
        Path b = resolve(to);
        if (Files.exists(b)) {
            throw new java.nio.file.FileAlreadyExistsException(b + " exists: cannot rename " + a + " to it");
        }
        Files.createDirectories(b.getParent());
        Files.move(a, b, StandardCopyOption.ATOMIC_MOVE);
        syncDirectory(b.getParent());
    }

    @Override
    public Appender appender(String path) throws IOException {
        Path p = resolve(path);
        Files.createDirectories(p.getParent());
        boolean created = !Files.exists(p);
        FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        if (created) {
            syncDirectory(p.getParent());
        }
        return new Appender() {
            @Override
            public void write(byte[] bytes) throws IOException {
                ByteBuffer b = ByteBuffer.wrap(bytes);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
            }

            @Override
            public void sync() throws IOException {
                ch.force(false);
            }

            @Override
            public void close() throws IOException {
                try {
                    ch.force(false);
                } finally {
                    ch.close();
                }
            }
        };
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
