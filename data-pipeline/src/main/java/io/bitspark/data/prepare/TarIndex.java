package io.bitspark.data.prepare;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Lists the regular-file entries of a tar with the offset of each entry's data, reading headers only: the
 * data of each entry is skipped, which on a seekable stream (HDFS, s3a) is a seek. The ImageNet-21k release
 * ships one tar of per-synset tars; indexing it lets each synset be read by its own task. Entry names are
 * only ever used as strings (keys and labels), never as file system paths.
 */
public final class TarIndex {

    /** A regular file inside a tar: its name, data offset from the start of the tar, and size. */
    public record Entry(String name, long offset, long size) {}

    private TarIndex() {}

    public static List<Entry> scan(InputStream in) throws IOException {
        CountingInputStream counting = new CountingInputStream(in);
        List<Entry> out = new ArrayList<>();
        try (TarArchiveInputStream tar = new TarArchiveInputStream(counting)) {
            TarArchiveEntry e;
            while ((e = tar.getNextTarEntry()) != null) {
                if (e.isFile()) {
                    out.add(new Entry(e.getName(), counting.position, e.getSize()));
                }
            }
        }
        return out;
    }

    /** Counts bytes read and skipped; skip is delegated so that seekable streams seek. */
    static final class CountingInputStream extends FilterInputStream {
        long position;

        CountingInputStream(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                position++;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                position += n;
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long s = super.skip(n);
            position += s;
            return s;
        }
    }
}
