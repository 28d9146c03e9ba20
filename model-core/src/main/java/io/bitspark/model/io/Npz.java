package io.bitspark.model.io;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A NumPy {@code .npz} archive (a zip of {@code .npy} entries, stored or deflated) opened for random
 * access: keys and headers are available without reading data, and each array is read on demand, so a
 * checkpoint of any size can be streamed one array at a time.
 */
public final class Npz implements Closeable {

    private final Path path;
    private final ZipFile zip;
    private final Map<String, ZipEntry> entries;

    private Npz(Path path, ZipFile zip, Map<String, ZipEntry> entries) {
        this.path = path;
        this.zip = zip;
        this.entries = entries;
    }

    /** Opens an archive; a file that is not a zip, or is truncated, fails here with a one-line message. */
    public static Npz open(Path path) throws IOException {
        if (!Files.isRegularFile(path)) {
            throw new NpyFormatException(path + ": no such file");
        }
        ZipFile zip;
        try {
            zip = new ZipFile(path.toFile());
        } catch (ZipException e) {
            throw new NpyFormatException(path + ": not a valid .npz (zip) file: " + e.getMessage());
        }
        Map<String, ZipEntry> entries = new LinkedHashMap<>();
        for (ZipEntry e : Collections.list(zip.entries())) {
            if (e.isDirectory()) {
                continue;
            }
            String name = e.getName();
            String key = name.endsWith(".npy") ? name.substring(0, name.length() - 4) : name;
            entries.put(key, e);
        }
        return new Npz(path, zip, entries);
    }

    public Path path() {
        return path;
    }

    /** Keys in archive order (entry names without the {@code .npy} suffix). */
    public List<String> keys() {
        return new ArrayList<>(entries.keySet());
    }

    public boolean contains(String key) {
        return entries.containsKey(key);
    }

    /** The header of one entry, read without its data. */
    public Npy.Header header(String key) throws IOException {
        try (InputStream in = open(key)) {
            return Npy.readHeader(in, describe(key));
        }
    }

    /** Reads one array in its stored dtype. */
    public INDArray read(String key) throws IOException {
        try (InputStream in = open(key)) {
            return Npy.read(in, describe(key));
        } catch (ZipException e) {
            throw new NpyFormatException(describe(key) + ": corrupt entry: " + e.getMessage());
        }
    }

    private InputStream open(String key) throws IOException {
        ZipEntry e = entries.get(key);
        if (e == null) {
            throw new NpyFormatException(path + ": no array '" + key + "'");
        }
        return new BufferedInputStream(zip.getInputStream(e), 1 << 16);
    }

    private String describe(String key) {
        return path + "[" + key + "]";
    }

    @Override
    public void close() throws IOException {
        zip.close();
    }

    /**
     * Writes arrays one entry at a time. Entries are deflate entries at level 0 (stored blocks): a streamed
     * zip cannot use the STORED method without knowing each CRC in advance, and float weights gain little
     * from compression. {@code numpy.load} reads either.
     */
    public static final class Writer implements Closeable {
        private final ZipOutputStream zip;

        public Writer(OutputStream out) {
            this.zip = new ZipOutputStream(new BufferedOutputStream(out, 1 << 16));
            this.zip.setLevel(0);
        }

        public Writer put(String key, INDArray a) throws IOException {
            zip.putNextEntry(new ZipEntry(key + ".npy"));
            Npy.write(a, zip);
            zip.closeEntry();
            return this;
        }

        /** Writes an entry from raw bytes (a header from elsewhere and its data), unchecked. */
        public Writer putRaw(String key, byte[] header, byte[] data) throws IOException {
            zip.putNextEntry(new ZipEntry(key + ".npy"));
            zip.write(header);
            zip.write(data);
            zip.closeEntry();
            return this;
        }

        @Override
        public void close() throws IOException {
            zip.close();
        }
    }

    /** Writes a whole map of arrays to {@code path}. */
    public static void write(Path path, Map<String, INDArray> arrays) throws IOException {
        try (Writer w = new Writer(Files.newOutputStream(path))) {
            for (Map.Entry<String, INDArray> e : arrays.entrySet()) {
                w.put(e.getKey(), e.getValue());
            }
        }
    }
}
