package io.bitspark.model.layers;

import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Backprop of a convolution as matrix products over an im2col of its input, for the two cases where libnd4j's
 * {@code conv2d_bp} does work or holds memory that training does not need:
 * <ul>
 * <li>the network's first convolution, whose input gradient nothing consumes: {@link #kernelGradient} computes the
 * kernel gradient alone (for BiT's 7x7/2 root, oneDNN's input gradient with three input channels costs several
 * times its kernel gradient);
 * <li>3x3 stride-1 convolutions over small images (the last stage), where oneDNN picks a Winograd kernel gradient
 * whose scratch grows with in x out channels, transient per call: 117 MB for BiT-R50x1's last stage, 0.99 GB for
 * R50x3's, about 1.8 GB for R152x4's. {@link #backward} computes both gradients with buffers the size of the layer's
 * activations instead.
 * </ul>
 * Channels-last activations only. The im2col columns of an output position are the kernel window's input values in
 * the order the input lies, (kh, kw, c): runs of kw x c contiguous values, one copy per kernel row. Out-of-image
 * positions are zeros (symmetric explicit padding). Kernels are OIHW, as the layer keeps them.
 */
final class ConvGemmBackward {

    /**
     * Elements of one im2col block (16 MB of floats): the kernel gradient is a sum of one matrix product per block, and
     * each product has a fixed cost (the root's kernel gradient at 224 px, batch 8: 26 ms in blocks of 1M elements, 16 ms
     * in blocks of 4M, 11 ms in one block of 15M).
     */
    static final long BLOCK_ELEMENTS = 1L << 22;

    private ConvGemmBackward() {}

    /**
     * A square-kernel convolution's geometry: input {@code n x h x w x c} (in the layout {@code channelsLast}
     * says), {@code o} outputs, kernel {@code k}, stride {@code s}, padding {@code p}, output {@code oh x ow}.
     */
    record Shape(int n, int h, int w, int c, int o, int k, int s, int p, int oh, int ow, boolean channelsLast) {

        static Shape of(INDArray x, INDArray kernel, int stride, int padding, boolean channelsLast) {
            int n = (int) x.size(0);
            int c = (int) x.size(channelsLast ? 3 : 1);
            int h = (int) x.size(channelsLast ? 1 : 2);
            int w = (int) x.size(channelsLast ? 2 : 3);
            int k = (int) kernel.size(2);
            if (kernel.size(3) != k || kernel.size(1) != c) {
                throw new IllegalArgumentException("kernel " + java.util.Arrays.toString(kernel.shape())
                        + " does not fit input " + java.util.Arrays.toString(x.shape()));
            }
            return new Shape(n, h, w, c, (int) kernel.size(0), k, stride, padding, (h + 2 * padding - k) / stride + 1,
                    (w + 2 * padding - k) / stride + 1, channelsLast);
        }

        /** Output positions, the rows of the im2col matrix. */
        long rows() {
            return (long) n * oh * ow;
        }

        /** Kernel window values per output position, its columns. */
        int columns() {
            return c * k * k;
        }
    }

    /**
     * The kernel gradient {@code dw} (OIHW) of a channels-last convolution of input {@code x} with output gradient
     * {@code eps}, a sum of products over blocks of output positions.
     */
    static void kernelGradient(INDArray x, INDArray eps, INDArray dw, Shape g, LayerWorkspaceMgr mgr) {
        requireChannelsLast(g);
        INDArray e2 = contiguous(eps).reshape('c', g.rows(), g.o());
        NativeMemory.Mem xm = NativeMemory.mem(contiguous(x));
        int cols = g.columns();
        long blockRows = Math.max(1, Math.min(g.rows(), BLOCK_ELEMENTS / cols));
        INDArray block = mgr.createUninitialized(ArrayType.BP_WORKING_MEM, dw.dataType(), new long[] {blockRows, cols}, 'c');
        INDArray dwMat = mgr.createUninitialized(ArrayType.BP_WORKING_MEM, dw.dataType(), new long[] {g.o(), cols}, 'c');
        for (long m0 = 0; m0 < g.rows(); m0 += blockRows) {
            int rows = (int) Math.min(blockRows, g.rows() - m0);
            INDArray colsBlock = rows == blockRows ? block : block.get(NDArrayIndex.interval(0, rows), NDArrayIndex.all());
            im2col(xm, g, m0, rows, NativeMemory.mem(colsBlock));
            INDArray eBlock = e2.get(NDArrayIndex.interval(m0, m0 + rows), NDArrayIndex.all());
            Nd4j.gemm(eBlock, colsBlock, dwMat, true, false, 1.0, m0 == 0 ? 0.0 : 1.0);
        }
        toKernel(dwMat, g, dw);
    }

    /**
     * Both gradients of a channels-last convolution with the whole im2col at once (for small images): {@code dw =
     * eps^T . cols}, {@code dcols = eps . w} gathered back into {@code dx}.
     */
    static void backward(INDArray x, INDArray wHat, INDArray eps, INDArray dx, INDArray dw, Shape g,
                         LayerWorkspaceMgr mgr) {
        requireChannelsLast(g);
        INDArray e2 = contiguous(eps).reshape('c', g.rows(), g.o());
        INDArray cols = mgr.createUninitialized(ArrayType.BP_WORKING_MEM, x.dataType(), new long[] {g.rows(), g.columns()}, 'c');
        im2col(NativeMemory.mem(contiguous(x)), g, 0, (int) g.rows(), NativeMemory.mem(cols));
        INDArray dwMat = mgr.createUninitialized(ArrayType.BP_WORKING_MEM, dw.dataType(), new long[] {g.o(), g.columns()}, 'c');
        Nd4j.gemm(e2, cols, dwMat, true, false, 1.0, 0.0);
        toKernel(dwMat, g, dw);
        // The kernel as OHWI rows, the columns' order; the im2col block is reused for the column gradients.
        INDArray wRows = mgr.dup(ArrayType.BP_WORKING_MEM, wHat.permute(0, 2, 3, 1), 'c').reshape('c', g.o(), g.columns());
        Nd4j.gemm(e2, wRows, cols, false, false, 1.0, 0.0);
        col2im(NativeMemory.mem(cols), g, NativeMemory.mem(dx));
    }

    /** Rows {@code m0 .. m0+rows} of the im2col matrix of {@code x} into {@code cols} ({@code rows x columns}). */
    static void im2col(NativeMemory.Mem x, Shape g, long m0, int rows, NativeMemory.Mem cols) {
        int width = x.single() ? 4 : 8;
        if (cols.single() != x.single() || cols.length() < (long) rows * g.columns()) {
            throw new IllegalArgumentException("im2col block of " + cols.length() + " for " + rows + " rows of " + g);
        }
        int tasks = Math.min(rows, KernelPool.THREADS * 4);
        KernelPool.parallelFor(tasks, t -> {
            long from = (long) rows * t / tasks;
            long to = (long) rows * (t + 1) / tasks;
            for (long r = from; r < to; r++) {
                columnsOf(x, g, m0 + r, cols.address() + r * g.columns() * width, width);
            }
        });
    }

    /** The kernel window of output position {@code m} into the row at {@code dst}. */
    private static void columnsOf(NativeMemory.Mem x, Shape g, long m, long dst, int width) {
        sun.misc.Unsafe u = NativeMemory.unsafe();
        int perImage = g.oh() * g.ow();
        int n = (int) (m / perImage);
        int r = (int) (m % perImage);
        int y0 = (r / g.ow()) * g.s() - g.p();
        int x0 = (r % g.ow()) * g.s() - g.p();
        int k = g.k();
        // Kernel columns inside the image: [lo, hi).
        int lo = Math.max(0, -x0);
        int hi = Math.min(k, g.w() - x0);
        long run = (long) k * g.c() * width;
        long pixel = (long) g.c() * width;
        for (int kh = 0; kh < k; kh++) {
            long d = dst + kh * run;
            int iy = y0 + kh;
            if (iy < 0 || iy >= g.h() || hi <= lo) {
                u.setMemory(d, run, (byte) 0);
                continue;
            }
            if (lo > 0) {
                u.setMemory(d, lo * pixel, (byte) 0);
            }
            long src = x.address() + ((((long) n * g.h() + iy) * g.w() + x0 + lo) * g.c()) * width;
            u.copyMemory(src, d + lo * pixel, (hi - lo) * pixel);
            if (hi < k) {
                u.setMemory(d + hi * pixel, (k - hi) * pixel, (byte) 0);
            }
        }
    }

    /**
     * The input gradient of a channels-last convolution from its column gradients {@code dcols} ({@code rows x
     * columns}): each input pixel gathers the kernel-window entries that read it, image rows in parallel.
     */
    static void col2im(NativeMemory.Mem dcols, Shape g, NativeMemory.Mem dx) {
        int c = g.c();
        int k = g.k();
        KernelPool.parallelFor(g.n() * g.h(), row -> {
            int n = row / g.h();
            int iy = row % g.h();
            NativeMemory.Scratch s = NativeMemory.scratch().ensure(c);
            double[] acc = s.a;
            double[] part = s.b;
            for (int ix = 0; ix < g.w(); ix++) {
                java.util.Arrays.fill(acc, 0, c, 0.0);
                for (int kh = 0; kh < k; kh++) {
                    int ty = iy + g.p() - kh;
                    if (ty < 0 || ty % g.s() != 0 || ty / g.s() >= g.oh()) {
                        continue;
                    }
                    for (int kw = 0; kw < k; kw++) {
                        int tx = ix + g.p() - kw;
                        if (tx < 0 || tx % g.s() != 0 || tx / g.s() >= g.ow()) {
                            continue;
                        }
                        long m = ((long) n * g.oh() + ty / g.s()) * g.ow() + tx / g.s();
                        NativeMemory.load(dcols, m * g.columns() + (long) (kh * k + kw) * c, part, c, s.f);
                        for (int i = 0; i < c; i++) {
                            acc[i] += part[i];
                        }
                    }
                }
                NativeMemory.store(acc, c, dx, (((long) n * g.h() + iy) * g.w() + ix) * c, s.f);
            }
        });
    }

    /** The kernel gradient in OIHW from its (kh, kw, c)-ordered rows. */
    private static void toKernel(INDArray dwMat, Shape g, INDArray dw) {
        dw.assign(dwMat.reshape('c', g.o(), g.k(), g.k(), g.c()).permute(0, 3, 1, 2));
    }

    private static void requireChannelsLast(Shape g) {
        if (!g.channelsLast()) {
            throw new IllegalArgumentException("the im2col backprop runs channels-last only");
        }
    }

    /** {@code a} itself when it lies row-major without gaps, else a C-ordered copy (epsilons often arrive as views). */
    static INDArray contiguous(INDArray a) {
        return NativeMemory.rowMajorContiguous(a) ? a : a.dup('c');
    }
}
