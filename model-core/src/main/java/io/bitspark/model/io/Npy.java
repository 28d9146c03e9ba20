package io.bitspark.model.io;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Reader and writer of the NumPy {@code .npy} format (versions 1.0, 2.0 and 3.0): a magic string, a
 * little-endian header length, an ASCII Python dict with {@code descr}, {@code fortran_order} and
 * {@code shape}, then the raw data. Arrays are read straight into ND4J's native memory in chunks, so a
 * large array is never held twice on the Java heap.
 */
public final class Npy {

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");
    private static final int CHUNK = 1 << 20;

    private Npy() {}

    /** The parsed header of one array. */
    public record Header(String descr, boolean fortranOrder, long[] shape) {
        public DataType dataType() {
            return switch (descr.substring(1)) {
                case "f2" -> DataType.HALF;
                case "f4" -> DataType.FLOAT;
                case "f8" -> DataType.DOUBLE;
                case "i1" -> DataType.BYTE;
                case "u1" -> DataType.UBYTE;
                case "i2" -> DataType.SHORT;
                case "i4" -> DataType.INT;
                case "i8" -> DataType.LONG;
                case "b1" -> DataType.BOOL;
                default -> throw new IllegalStateException("unsupported dtype " + descr);
            };
        }

        public ByteOrder byteOrder() {
            return descr.charAt(0) == '>' ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        }

        public long elements() {
            long n = 1;
            for (long s : shape) {
                n *= s;
            }
            return n;
        }

        public int itemSize() {
            return Integer.parseInt(descr.substring(2));
        }

        public String shapeString() {
            return Arrays.toString(shape);
        }
    }

    /** Reads and validates the header; {@code what} names the source in error messages. */
    public static Header readHeader(InputStream in, String what) throws IOException {
        byte[] magic = readFully(in, 8, what, "magic");
        for (int i = 0; i < MAGIC.length; i++) {
            if (magic[i] != MAGIC[i]) {
                throw new NpyFormatException(what + ": not a .npy array (bad magic)");
            }
        }
        int major = magic[6] & 0xff;
        int headerLen;
        if (major == 1) {
            byte[] l = readFully(in, 2, what, "header length");
            headerLen = (l[0] & 0xff) | (l[1] & 0xff) << 8;
        } else if (major == 2 || major == 3) {
            byte[] l = readFully(in, 4, what, "header length");
            headerLen = ByteBuffer.wrap(l).order(ByteOrder.LITTLE_ENDIAN).getInt();
            if (headerLen < 0 || headerLen > (1 << 24)) {
                throw new NpyFormatException(what + ": implausible header length " + headerLen);
            }
        } else {
            throw new NpyFormatException(what + ": unsupported .npy version " + major);
        }
        String header = new String(readFully(in, headerLen, what, "header"),
                major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Matcher d = DESCR.matcher(header);
        Matcher f = FORTRAN.matcher(header);
        Matcher s = SHAPE.matcher(header);
        if (!d.find() || !f.find() || !s.find()) {
            throw new NpyFormatException(what + ": malformed .npy header: " + header.trim());
        }
        String descr = d.group(1);
        if (!descr.matches("[<>|=][fiub][1248]")) {
            throw new NpyFormatException(what + ": unsupported dtype '" + descr + "' (expected float16/32/64 or integers)");
        }
        if (descr.charAt(0) == '=' || descr.charAt(0) == '|') {
            descr = (ByteOrder.nativeOrder() == ByteOrder.BIG_ENDIAN ? ">" : "<") + descr.substring(1);
        }
        List<Long> dims = new ArrayList<>();
        for (String part : s.group(1).split(",")) {
            String p = part.trim();
            if (!p.isEmpty()) {
                try {
                    dims.add(Long.parseLong(p.endsWith("L") ? p.substring(0, p.length() - 1) : p));
                } catch (NumberFormatException e) {
                    throw new NpyFormatException(what + ": malformed shape (" + s.group(1) + ")");
                }
            }
        }
        long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
        Header h = new Header(descr, Boolean.parseBoolean(f.group(1).toLowerCase(Locale.ROOT)), shape);
        try {
            h.dataType();
        } catch (IllegalStateException e) {
            throw new NpyFormatException(what + ": unsupported dtype '" + descr + "'");
        }
        return h;
    }

    /** Reads a whole array in its stored dtype, C order. */
    public static INDArray read(InputStream in, String what) throws IOException {
        Header h = readHeader(in, what);
        return readData(in, h, what);
    }

    /** Reads the data that follows {@code h} into a new C-order array of the stored dtype. */
    public static INDArray readData(InputStream in, Header h, String what) throws IOException {
        long n = h.elements();
        int item = h.itemSize();
        long[] shape = h.shape();
        long[] storedShape = h.fortranOrder() ? reversed(shape) : shape;
        INDArray a = shape.length == 0 ? Nd4j.scalar(h.dataType(), 0) : Nd4j.create(h.dataType(), storedShape, 'c');
        ByteBuffer dst = a.data().asNio().order(ByteOrder.nativeOrder());
        boolean swap = item > 1 && h.byteOrder() != ByteOrder.nativeOrder();
        long total = n * item;
        byte[] buf = new byte[(int) Math.min(CHUNK, Math.max(total, 1))];
        long done = 0;
        while (done < total) {
            int want = (int) Math.min(buf.length, total - done);
            int got = in.readNBytes(buf, 0, want);
            if (got < want) {
                throw new NpyFormatException(what + ": truncated data (" + (done + got) + " of " + total + " bytes for shape "
                        + h.shapeString() + " " + h.descr() + ")");
            }
            if (swap) {
                swapBytes(buf, got, item);
            }
            dst.put(buf, 0, got);
            done += got;
        }
        if (h.fortranOrder() && shape.length > 1) {
            // Stored as the C-order transpose: reverse the axes back, then make it C order.
            int[] perm = new int[shape.length];
            for (int i = 0; i < perm.length; i++) {
                perm[i] = perm.length - 1 - i;
            }
            return a.permute(perm).dup('c');
        }
        return a;
    }

    /** Writes {@code a} in its own dtype (float16/32/64 or integer), C order, little-endian, version 1.0. */
    public static void write(INDArray a, OutputStream out) throws IOException {
        String descr = "<" + switch (a.dataType()) {
            case HALF -> "f2";
            case FLOAT -> "f4";
            case DOUBLE -> "f8";
            case BYTE -> "i1";
            case UBYTE -> "u1";
            case SHORT -> "i2";
            case INT -> "i4";
            case LONG -> "i8";
            case BOOL -> "b1";
            default -> throw new IllegalArgumentException("cannot write dtype " + a.dataType() + " to .npy");
        };
        if (descr.endsWith("1")) {
            descr = "|" + descr.substring(1);
        }
        long[] shape = a.shape();
        StringBuilder dims = new StringBuilder();
        for (long s : shape) {
            dims.append(s).append(", ");
        }
        if (shape.length > 1) {
            dims.setLength(dims.length() - 2);
        } else if (shape.length == 1) {
            dims.setLength(dims.length() - 1);
        }
        StringBuilder header = new StringBuilder("{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }");
        // Pad with spaces so that the data starts at a multiple of 64 bytes, ending with a newline.
        int total = MAGIC.length + 2 + 2 + header.length() + 1;
        header.append(" ".repeat((64 - total % 64) % 64)).append('\n');
        out.write(MAGIC);
        out.write(new byte[] {1, 0});
        int hl = header.length();
        out.write(new byte[] {(byte) (hl & 0xff), (byte) ((hl >> 8) & 0xff)});
        out.write(header.toString().getBytes(StandardCharsets.ISO_8859_1));

        INDArray c = a.isView() || a.ordering() != 'c' || a.offset() != 0 || a.data().length() != a.length()
                ? a.dup('c') : a;
        if (c.length() == 0) {
            return;
        }
        ByteBuffer src = c.data().asNio().order(ByteOrder.nativeOrder());
        int item = c.dataType().width();
        long bytes = c.length() * item;
        boolean swap = item > 1 && ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN;
        byte[] buf = new byte[(int) Math.min(CHUNK, bytes)];
        long done = 0;
        while (done < bytes) {
            int len = (int) Math.min(buf.length, bytes - done);
            src.get(buf, 0, len);
            if (swap) {
                swapBytes(buf, len, item);
            }
            out.write(buf, 0, len);
            done += len;
        }
    }

    private static long[] reversed(long[] s) {
        long[] r = new long[s.length];
        for (int i = 0; i < s.length; i++) {
            r[i] = s[s.length - 1 - i];
        }
        return r;
    }

    private static void swapBytes(byte[] b, int len, int item) {
        for (int i = 0; i + item <= len; i += item) {
            for (int j = 0; j < item / 2; j++) {
                byte t = b[i + j];
                b[i + j] = b[i + item - 1 - j];
                b[i + item - 1 - j] = t;
            }
        }
    }

    private static byte[] readFully(InputStream in, int n, String what, String part) throws IOException {
        byte[] b = in.readNBytes(n);
        if (b.length < n) {
            throw new NpyFormatException(what + ": truncated " + part + " (" + b.length + " of " + n + " bytes)");
        }
        return b;
    }

}
