package io.bitspark.data.image;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.Serializable;
import java.util.Iterator;
import java.util.Locale;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.event.IIOReadWarningListener;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * Validates, decodes, orients, resizes and re-encodes one image for a training shard. Limits are checked
 * on the header before any pixel is decoded (decompression bombs cost nothing); the format is sniffed from
 * the bytes, never from a name. Baseline and progressive JPEG, CMYK/YCCK JPEG (TwelveMonkeys), grayscale,
 * PNG (8/16-bit, palette, alpha), GIF and BMP (first frame) are decoded; EXIF orientation is applied;
 * alpha is dropped; the result is RGB JPEG with the shorter side at most {@code maxSide}.
 */
public final class ImageProcessor {

    static {
        // Executors load this class from the job jar: make sure ImageIO sees the jar's plugins (TwelveMonkeys).
        ImageIO.scanForPlugins();
        ImageIO.setUseCache(false);
    }

    /** Limits and output settings. */
    public record Config(int maxSide, int jpegQuality, long maxBytes, long maxPixels, int minSide) implements Serializable {
        public static Config defaults() {
            return new Config(512, 90, 64L << 20, 89_478_485L, 8);
        }

        public Config {
            if (maxSide < 16) {
                throw new IllegalArgumentException("maxSide must be >= 16, got " + maxSide);
            }
            if (jpegQuality < 1 || jpegQuality > 100) {
                throw new IllegalArgumentException("jpegQuality must be in 1..100, got " + jpegQuality);
            }
            if (maxBytes < 1 || maxPixels < 1 || minSide < 1) {
                throw new IllegalArgumentException("limits must be positive");
            }
        }
    }

    /** A processed image, or a rejection with its reason and a one-line detail. */
    public record Result(byte[] jpeg, int width, int height, int sourceWidth, int sourceHeight, long phash,
                         ImageFormat format, RejectReason reason, String detail) {
        public boolean ok() {
            return reason == null;
        }

        static Result reject(RejectReason r, String detail) {
            return new Result(null, 0, 0, 0, 0, 0L, null, r, detail);
        }
    }

    private final Config config;

    public ImageProcessor(Config config) {
        this.config = config;
    }

    public Result process(byte[] bytes) {
        if (bytes == null || bytes.length == 0) {
            return Result.reject(RejectReason.EMPTY, "0 bytes");
        }
        ImageFormat format = ImageFormat.sniff(bytes);
        if (!format.supported()) {
            return Result.reject(RejectReason.UNSUPPORTED_FORMAT, format == ImageFormat.UNKNOWN
                    ? "not an image (unrecognised header)" : format.name().toLowerCase(Locale.ROOT) + " is not supported");
        }
        if (bytes.length > config.maxBytes()) {
            return Result.reject(RejectReason.TOO_LARGE, bytes.length + " bytes > limit " + config.maxBytes());
        }
        String truncated = structuralTruncation(format, bytes);
        if (truncated != null) {
            return Result.reject(RejectReason.TRUNCATED, truncated);
        }
        ImageReader reader = reader(format);
        if (reader == null) {
            return Result.reject(RejectReason.UNSUPPORTED_FORMAT, "no decoder for " + format);
        }
        BufferedImage img;
        int w;
        int h;
        int subsampling;
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            reader.setInput(in, true, true);
            w = reader.getWidth(0);
            h = reader.getHeight(0);
            if ((long) w * h > config.maxPixels()) {
                return Result.reject(RejectReason.TOO_LARGE, w + "x" + h + " pixels > limit " + config.maxPixels());
            }
            if (Math.min(w, h) < config.minSide()) {
                return Result.reject(RejectReason.TOO_SMALL, w + "x" + h + " has a side below " + config.minSide());
            }
            String[] warning = new String[1];
            reader.addIIOReadWarningListener(new IIOReadWarningListener() {
                @Override
                public void warningOccurred(ImageReader source, String message) {
                    if (warning[0] == null) {
                        warning[0] = message;
                    }
                }
            });
            // Only a shorter side of maxSide is kept: a large image is decoded subsampled by an integer factor that still
            // leaves at least twice that (the area-averaging resize then removes the aliasing), so transient memory
            // and time follow the output size, not the camera's (a 5640x3172 photo: 1 of 4 rows and columns).
            javax.imageio.ImageReadParam param = reader.getDefaultReadParam();
            subsampling = Math.max(1, Math.min(w, h) / (2 * config.maxSide()));
            if (subsampling > 1) {
                param.setSourceSubsampling(subsampling, subsampling, 0, 0);
            }
            img = reader.read(0, param);
            if (warning[0] != null && warning[0].toLowerCase(Locale.ROOT).contains("premature end")) {
                return Result.reject(RejectReason.TRUNCATED, warning[0]);
            }
        } catch (EOFException e) {
            return Result.reject(RejectReason.TRUNCATED, "end of data while decoding " + format);
        } catch (IOException | RuntimeException e) {
            String m = String.valueOf(e.getMessage()).replaceAll("\\s+", " ");
            if (m.toLowerCase(Locale.ROOT).contains("end of") || m.toLowerCase(Locale.ROOT).contains("eof")) {
                return Result.reject(RejectReason.TRUNCATED, m);
            }
            return Result.reject(RejectReason.CORRUPT, format + ": " + e.getClass().getSimpleName() + ": " + m);
        } catch (OutOfMemoryError e) {
            return Result.reject(RejectReason.TOO_LARGE, "out of memory decoding the image");
        } finally {
            reader.dispose();
        }
        if (img == null) {
            return Result.reject(RejectReason.CORRUPT, "decoder returned no image");
        }
        // Every step after decoding runs under this image's guard: a failure is this image's rejection, naming the step.
        String stage = "colour conversion";
        BufferedImage out;
        int srcW;
        int srcH;
        long phash;
        byte[] jpeg;
        try {
            BufferedImage rgb = toRgb(img);
            int orientation = 1;
            if (format == ImageFormat.JPEG) {
                stage = "EXIF orientation";
                orientation = Exif.jpegOrientation(bytes);
                rgb = orient(rgb, orientation);
            }
            // The source size is the file's (after orientation), whatever the decoder's subsampling.
            boolean swapped = orientation >= 5 && orientation <= 8;
            srcW = subsampling == 1 ? rgb.getWidth() : swapped ? h : w;
            srcH = subsampling == 1 ? rgb.getHeight() : swapped ? w : h;
            stage = "resize";
            out = resizeShorterSide(rgb, config.maxSide());
            stage = "perceptual hash";
            phash = PerceptualHash.of(out);
            stage = "JPEG encoding";
            jpeg = encodeJpeg(out, config.jpegQuality());
        } catch (IOException | RuntimeException | OutOfMemoryError e) {
            return Result.reject(RejectReason.PROCESSING_FAILED, stage + " failed: " + e.getClass().getSimpleName() + ": "
                    + String.valueOf(e.getMessage()).replaceAll("\\s+", " "));
        }
        return new Result(jpeg, out.getWidth(), out.getHeight(), srcW, srcH, phash, format, null, null);
    }

    /** A reason if the container visibly ends early; decoders often fill missing data silently. */
    static String structuralTruncation(ImageFormat f, byte[] b) {
        switch (f) {
            case JPEG: {
                int sos = lastMarker(b, 0xDA);
                int eoi = lastMarker(b, 0xD9);
                if (sos < 0) {
                    return "JPEG ends before its image data (no start-of-scan marker, " + b.length + " bytes)";
                }
                if (eoi < sos) {
                    return "JPEG ends without an end-of-image marker (" + b.length + " bytes)";
                }
                return null;
            }
            case PNG: {
                for (int i = b.length - 4; i >= Math.max(8, b.length - 64); i--) {
                    if (b[i] == 'I' && b[i + 1] == 'E' && b[i + 2] == 'N' && b[i + 3] == 'D') {
                        return null;
                    }
                }
                return "PNG ends without an IEND chunk (" + b.length + " bytes)";
            }
            case GIF: {
                int end = b.length - 1;
                while (end > 0 && b[end] == 0) {
                    end--;
                }
                return b[end] == 0x3B ? null : "GIF ends without its trailer (" + b.length + " bytes)";
            }
            case BMP: {
                if (b.length < 6) {
                    return "BMP header cut short";
                }
                long declared = (b[2] & 0xffL) | (b[3] & 0xffL) << 8 | (b[4] & 0xffL) << 16 | (b[5] & 0xffL) << 24;
                return declared > b.length ? "BMP declares " + declared + " bytes, has " + b.length : null;
            }
            default:
                return null;
        }
    }

    private static int lastMarker(byte[] b, int marker) {
        for (int i = b.length - 2; i >= 0; i--) {
            if ((b[i] & 0xff) == 0xFF && (b[i + 1] & 0xff) == marker) {
                return i;
            }
        }
        return -1;
    }

    /** Prefers TwelveMonkeys' readers (CMYK/YCCK JPEG, more BMP variants) over the JDK's. */
    static ImageReader reader(ImageFormat f) {
        String name = f.name().toLowerCase(Locale.ROOT);
        ImageReader fallback = null;
        for (Iterator<ImageReader> it = ImageIO.getImageReadersByFormatName(name); it.hasNext(); ) {
            ImageReader r = it.next();
            if (r.getClass().getName().startsWith("com.twelvemonkeys")) {
                return r;
            }
            if (fallback == null) {
                fallback = r;
            }
        }
        return fallback;
    }

    /** 8-bit RGB; alpha is dropped keeping colour values (as PIL's convert('RGB')); gray and 16-bit are converted. */
    public static BufferedImage toRgb(BufferedImage src) {
        if (src.getType() == BufferedImage.TYPE_INT_RGB) {
            return src;
        }
        int w = src.getWidth();
        int h = src.getHeight();
        BufferedImage rgb = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        if (src.getColorModel().hasAlpha()) {
            int[] row = new int[w];
            for (int y = 0; y < h; y++) {
                src.getRGB(0, y, w, 1, row, 0, w);
                rgb.setRGB(0, y, w, 1, row, 0, w);
            }
            return rgb;
        }
        Graphics2D g = rgb.createGraphics();
        try {
            g.drawImage(src, 0, 0, null);
        } finally {
            g.dispose();
        }
        return rgb;
    }

    /**
     * Applies EXIF orientation 2..8 so that the image is upright: 2 mirror, 3 rotate 180, 4 flip, 5 transpose,
     * 6 rotate 90 clockwise, 7 transverse, 8 rotate 90 counter-clockwise.
     */
    static BufferedImage orient(BufferedImage img, int orientation) {
        if (orientation <= 1 || orientation > 8) {
            return img;
        }
        int w = img.getWidth();
        int h = img.getHeight();
        boolean swap = orientation >= 5;
        int ow = swap ? h : w;
        int oh = swap ? w : h;
        int[] in = img.getRGB(0, 0, w, h, null, 0, w);
        int[] out = new int[ow * oh];
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                int sx;
                int sy;
                switch (orientation) {
                    case 2 -> { sx = w - 1 - x; sy = y; }
                    case 3 -> { sx = w - 1 - x; sy = h - 1 - y; }
                    case 4 -> { sx = x; sy = h - 1 - y; }
                    case 5 -> { sx = y; sy = x; }
                    case 6 -> { sx = y; sy = h - 1 - x; }
                    case 7 -> { sx = w - 1 - y; sy = h - 1 - x; }
                    default -> { sx = w - 1 - y; sy = x; } // 8
                }
                out[y * ow + x] = in[sy * w + sx];
            }
        }
        BufferedImage o = new BufferedImage(ow, oh, BufferedImage.TYPE_INT_RGB);
        o.setRGB(0, 0, ow, oh, out, 0, ow);
        return o;
    }

    /** Shorter side to {@code maxSide} when larger, aspect kept; halving steps then bilinear (no aliasing). */
    static BufferedImage resizeShorterSide(BufferedImage img, int maxSide) {
        int w = img.getWidth();
        int h = img.getHeight();
        int shorter = Math.min(w, h);
        if (shorter <= maxSide) {
            return img;
        }
        double s = maxSide / (double) shorter;
        int tw = w <= h ? maxSide : (int) Math.round(w * s);
        int th = h < w ? maxSide : (int) Math.round(h * s);
        BufferedImage cur = img;
        while (cur.getWidth() >= 2 * tw && cur.getHeight() >= 2 * th) {
            cur = draw(cur, cur.getWidth() / 2, cur.getHeight() / 2);
        }
        return cur.getWidth() == tw && cur.getHeight() == th ? cur : draw(cur, tw, th);
    }

    private static BufferedImage draw(BufferedImage src, int w, int h) {
        BufferedImage dst = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = dst.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
            g.drawImage(src, 0, 0, w, h, null);
        } finally {
            g.dispose();
        }
        return dst;
    }

    static byte[] encodeJpeg(BufferedImage rgb, int quality) throws IOException {
        ImageWriter writer = null;
        for (Iterator<ImageWriter> it = ImageIO.getImageWritersByFormatName("jpeg"); it.hasNext(); ) {
            ImageWriter cand = it.next();
            // The JDK's encoder: deterministic output, no metadata beyond JFIF.
            if (cand.getClass().getName().startsWith("com.sun.")) {
                writer = cand;
                break;
            }
            if (writer == null) {
                writer = cand;
            }
        }
        if (writer == null) {
            throw new IOException("no JPEG encoder");
        }
        ByteArrayOutputStream bos = new ByteArrayOutputStream(Math.max(1024, rgb.getWidth() * rgb.getHeight() / 4));
        try (MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bos)) {
            writer.setOutput(out);
            ImageWriteParam p = writer.getDefaultWriteParam();
            p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            p.setCompressionQuality(quality / 100f);
            writer.write(null, new IIOImage(rgb, null, null), p);
        } finally {
            writer.dispose();
        }
        return bos.toByteArray();
    }
}
