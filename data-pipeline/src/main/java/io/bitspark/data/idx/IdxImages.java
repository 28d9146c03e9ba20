package io.bitspark.data.idx;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Reader of the IDX format of MNIST and Fashion-MNIST ({@code idx3-ubyte} images, {@code idx1-ubyte}
 * labels, optionally gzipped): a big-endian magic whose third byte is the type (0x08, unsigned byte) and
 * fourth the number of dimensions, then the dimensions, then the data.
 */
public final class IdxImages {

    /** Grayscale images {@code [n][rows * cols]} and their labels. */
    public record Data(int rows, int cols, byte[][] pixels, int[] labels) {
        public int size() {
            return labels.length;
        }
    }

    private IdxImages() {}

    public static Data read(Path images, Path labels) throws IOException {
        int[] lab;
        try (DataInputStream in = open(labels)) {
            int[] dims = header(in, labels, 1);
            lab = new int[dims[0]];
            for (int i = 0; i < lab.length; i++) {
                lab[i] = in.readUnsignedByte();
            }
        }
        try (DataInputStream in = open(images)) {
            int[] dims = header(in, images, 3);
            if (dims[0] != lab.length) {
                throw new IOException(images + ": " + dims[0] + " images but " + labels + " has " + lab.length + " labels");
            }
            byte[][] px = new byte[dims[0]][dims[1] * dims[2]];
            for (byte[] p : px) {
                in.readFully(p);
            }
            return new Data(dims[1], dims[2], px, lab);
        }
    }

    private static DataInputStream open(Path p) throws IOException {
        InputStream in = new BufferedInputStream(Files.newInputStream(p), 1 << 16);
        if (p.getFileName().toString().endsWith(".gz")) {
            in = new GZIPInputStream(in, 1 << 16);
        }
        return new DataInputStream(in);
    }

    private static int[] header(DataInputStream in, Path p, int expectedDims) throws IOException {
        int magic = in.readInt();
        int type = (magic >> 8) & 0xff;
        int ndim = magic & 0xff;
        if ((magic >>> 16) != 0 || type != 0x08 || ndim != expectedDims) {
            throw new IOException(p + ": not an unsigned-byte IDX file with " + expectedDims + " dimension(s) (magic 0x"
                    + Integer.toHexString(magic) + ")");
        }
        int[] dims = new int[ndim];
        for (int i = 0; i < ndim; i++) {
            dims[i] = in.readInt();
        }
        return dims;
    }
}
