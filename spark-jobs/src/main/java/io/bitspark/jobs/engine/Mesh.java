package io.bitspark.jobs.engine;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import io.bitspark.model.layers.NativeMemory;
import io.bitspark.model.layers.KernelPool;
import io.bitspark.model.train.ParameterLayout;

/**
 * The workers of one round, fully connected by TCP: rank {@code i} connects to every lower rank and accepts
 * every higher one. Collectives over flat float vectors cut into one slice per rank
 * ({@link ParameterLayout#slice}):
 * <ul>
 * <li>{@link #reduceScatter}: every rank sends slice {@code j} to rank {@code j}; each rank sums its own slice
 * over all ranks (own first, then the others in rank order: deterministic);</li>
 * <li>{@link #allGather}: every rank sends its slice to all others, which store it in place;</li>
 * <li>{@link #gather}: slices to rank 0 only (checkpoints).</li>
 * </ul>
 * Each rank sends and receives {@code (N-1)/N} of the vector per collective, whatever {@code N}: the traffic of
 * a ring all-reduce, spread over all links, with no byte through the Spark driver. Sends run on one thread per
 * peer, receives on the caller, so no pair can deadlock. A collective that does not finish within the timeout
 * closes the sockets and fails the round (a lost peer fails it at once).
 */
final class Mesh implements AutoCloseable {

    private static final int SCRATCH_FLOATS = 1 << 20;

    private final int rank;
    private final int size;
    private final SocketChannel[] peers;
    private final ExecutorService senders;
    private final long timeoutMillis;
    private final AtomicLong sent = new AtomicLong();
    private final AtomicLong received = new AtomicLong();
    private final INDArray scratch;
    private final long scratchAddress;
    private final Thread watchdog;
    private volatile long deadline = Long.MAX_VALUE;
    private volatile boolean closed;

    private Mesh(int rank, SocketChannel[] peers, long timeoutMillis) {
        this.rank = rank;
        this.size = peers.length;
        this.peers = peers;
        this.timeoutMillis = timeoutMillis;
        this.senders = Executors.newFixedThreadPool(Math.max(1, size - 1), r -> {
            Thread t = new Thread(r, "bit-mesh-send");
            t.setDaemon(true);
            return t;
        });
        try (var ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            this.scratch = Nd4j.createUninitialized(DataType.FLOAT, SCRATCH_FLOATS);
        }
        this.scratchAddress = NativeMemory.address(scratch);
        this.watchdog = new Thread(this::watch, "bit-mesh-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
    }

    /** A listening socket on this executor's address, for {@link #connect}. */
    static ServerSocketChannel listen(String host) throws IOException {
        ServerSocketChannel s = ServerSocketChannel.open();
        s.bind(new InetSocketAddress(InetAddress.getByName(host), 0), 256);
        return s;
    }

    /** Connects rank {@code rank} to all {@code addresses} (host:port by rank); {@code token} identifies the round. */
    static Mesh connect(int rank, String[] addresses, ServerSocketChannel server, long token, long timeoutMillis) throws IOException {
        int n = addresses.length;
        SocketChannel[] peers = new SocketChannel[n];
        try {
            for (int j = 0; j < rank; j++) {
                String[] hp = addresses[j].split(":");
                SocketChannel c = SocketChannel.open();
                c.socket().connect(new InetSocketAddress(hp[0], Integer.parseInt(hp[1])), (int) Math.min(Integer.MAX_VALUE, timeoutMillis));
                configure(c);
                ByteBuffer hello = ByteBuffer.allocate(12).putLong(token).putInt(rank).flip();
                while (hello.hasRemaining()) {
                    c.write(hello);
                }
                peers[j] = c;
            }
            int expected = n - 1 - rank;
            server.socket().setSoTimeout((int) Math.min(Integer.MAX_VALUE, timeoutMillis));
            while (expected > 0) {
                Socket s;
                try {
                    s = server.socket().accept();
                } catch (SocketTimeoutException e) {
                    throw new IOException("rank " + rank + ": " + expected + " higher ranks did not connect within " + timeoutMillis + " ms");
                }
                SocketChannel c = s.getChannel();
                configure(c);
                ByteBuffer hello = ByteBuffer.allocate(12);
                readFully(c, hello);
                hello.flip();
                long t = hello.getLong();
                int from = hello.getInt();
                if (t != token || from <= rank || from >= n || peers[from] != null) {
                    c.close(); // not a peer of this round
                    continue;
                }
                peers[from] = c;
                expected--;
            }
        } catch (IOException | RuntimeException e) {
            for (SocketChannel c : peers) {
                if (c != null) {
                    c.close();
                }
            }
            throw e;
        }
        return new Mesh(rank, peers, timeoutMillis);
    }

    private static void configure(SocketChannel c) throws IOException {
        c.configureBlocking(true);
        c.socket().setTcpNoDelay(true);
        c.socket().setSendBufferSize(4 << 20);
        c.socket().setReceiveBufferSize(4 << 20);
    }

    private static void readFully(SocketChannel c, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (c.read(b) < 0) {
                throw new EOFException("peer closed the connection");
            }
        }
    }

    int rank() {
        return rank;
    }

    int size() {
        return size;
    }

    long bytesSent() {
        return sent.get();
    }

    long bytesReceived() {
        return received.get();
    }

    private void watch() {
        while (!closed) {
            if (System.currentTimeMillis() > deadline) {
                abort();
                return;
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void abort() {
        for (SocketChannel c : peers) {
            if (c != null) {
                try {
                    c.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
        }
    }

    /**
     * True when every peer answers with the same round token within {@code millis}: the mesh of a previous round
     * still connects exactly the workers of this one. On false the mesh is unusable (close it).
     */
    boolean handshake(long token, long millis) {
        deadline = System.currentTimeMillis() + millis;
        try {
            List<Future<?>> sends = new ArrayList<>();
            for (int j = 0; j < size; j++) {
                if (j != rank) {
                    SocketChannel c = peers[j];
                    sends.add(async(() -> {
                        ByteBuffer b = ByteBuffer.allocate(8).putLong(token).flip();
                        while (b.hasRemaining()) {
                            c.write(b);
                        }
                    }));
                }
            }
            boolean same = true;
            for (int j = 0; j < size; j++) {
                if (j != rank) {
                    ByteBuffer b = ByteBuffer.allocate(8);
                    readFully(peers[j], b);
                    same &= b.flip().getLong() == token;
                }
            }
            await(sends);
            return same;
        } catch (IOException | RuntimeException e) {
            return false;
        } finally {
            end();
        }
    }

    boolean isOpen() {
        if (closed) {
            return false;
        }
        for (SocketChannel c : peers) {
            if (c != null && !c.isOpen()) {
                return false;
            }
        }
        return true;
    }

    /** Slice {@code [from, to)} of each rank. */
    static long[][] slices(long length, int n) {
        long[][] s = new long[n][];
        for (int r = 0; r < n; r++) {
            s[r] = ParameterLayout.slice(length, r, n);
        }
        return s;
    }

    /** One piece {@code [at, at + n)} of a transfer. */
    private interface Piece {
        void run(long at, int n) throws IOException;
    }

    /** Runs {@code piece} over {@code [from, to)} in pieces of at most {@code max} elements. */
    private static void pieces(long from, long to, int max, Piece piece) throws IOException {
        for (long at = from; at < to; ) {
            int n = (int) Math.min(to - at, max);
            piece.run(at, n);
            at += n;
        }
    }

    private static void writeFully(SocketChannel c, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            c.write(b);
        }
    }

    private void send(int peer, INDArray v, long from, long to) throws IOException {
        pieces(from, to, NativeViews.MAX_VIEW / 4, (at, n) -> {
            writeFully(peers[peer], NativeViews.bytes(v, at, 4 * n));
            sent.addAndGet(4L * n);
        });
    }

    private void receiveInto(int peer, INDArray v, long from, long to) throws IOException {
        pieces(from, to, NativeViews.MAX_VIEW / 4, (at, n) -> {
            readFully(peers[peer], NativeViews.bytes(v, at, 4 * n));
            received.addAndGet(4L * n);
        });
    }

    private static final ThreadLocal<ByteBuffer> WIRE = ThreadLocal.withInitial(
            () -> ByteBuffer.allocateDirect(2 * SCRATCH_FLOATS).order(java.nio.ByteOrder.nativeOrder()));

    /** Sends floats {@code [from, to)} of {@code v} as bfloat16 (round to nearest even). */
    private void sendBf16(int peer, INDArray v, long from, long to) throws IOException {
        long base = NativeMemory.address(v);
        ByteBuffer b = WIRE.get();
        pieces(from, to, SCRATCH_FLOATS, (at, n) -> {
            b.clear();
            for (int i = 0; i < n; i++) {
                b.putShort(Bf16.fromFloat(NativeViews.getFloat(base + 4 * (at + i))));
            }
            writeFully(peers[peer], b.flip());
            sent.addAndGet(2L * n);
        });
    }

    /** Adds bfloat16 values received from {@code peer} into floats {@code [from, to)} of {@code v}. */
    private void receiveAddBf16(int peer, INDArray v, long from, long to) throws IOException {
        long base = NativeMemory.address(v);
        ByteBuffer b = WIRE.get();
        pieces(from, to, SCRATCH_FLOATS, (at, n) -> {
            b.clear().limit(2 * n);
            readFully(peers[peer], b);
            b.flip();
            received.addAndGet(2L * n);
            for (int i = 0; i < n; i++) {
                long d = base + 4 * (at + i);
                NativeViews.putFloat(d, NativeViews.getFloat(d) + Bf16.toFloat(b.getShort()));
            }
        });
    }

    private void receiveAdd(int peer, INDArray v, long from, long to) throws IOException {
        long base = NativeMemory.address(v);
        pieces(from, to, SCRATCH_FLOATS, (at, floats) -> {
            readFully(peers[peer], NativeViews.bytes(scratch, 0, 4 * floats));
            received.addAndGet(4L * floats);
            long dst = base + 4 * at;
            int parts = Math.max(1, floats / (1 << 16));
            int per = (floats + parts - 1) / parts;
            KernelPool.parallel(parts, p -> {
                int lo = p * per;
                int hi = Math.min(floats, lo + per);
                if (lo < hi) {
                    NativeViews.addFloats(dst + 4L * lo, scratchAddress + 4L * lo, hi - lo);
                }
            });
        });
    }

    private interface Io {
        void run() throws IOException;
    }

    private Future<?> async(Io io) {
        return senders.submit(() -> {
            io.run();
            return null;
        });
    }

    private void await(List<Future<?>> sends) throws IOException {
        for (Future<?> f : sends) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            } catch (java.util.concurrent.ExecutionException e) {
                throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
            }
        }
    }

    private void begin() {
        deadline = System.currentTimeMillis() + timeoutMillis;
    }

    private void end() {
        deadline = Long.MAX_VALUE;
    }

    private IOException failure(String what, IOException e) {
        return new IOException("rank " + rank + " of " + size + ": " + what + " failed"
                + (System.currentTimeMillis() > deadline ? " (timed out after " + timeoutMillis + " ms)" : "") + ": " + e.getMessage(), e);
    }

    /** Afterwards slice {@code rank} of {@code v} holds the sum over all ranks; other slices are unchanged. */
    void reduceScatter(INDArray v) throws IOException {
        reduceScatter(v, false);
    }

    /** As {@link #reduceScatter(INDArray)}; with {@code bf16} the contributions cross the wire as bfloat16. */
    void reduceScatter(INDArray v, boolean bf16) throws IOException {
        long[][] s = slices(v.length(), size);
        exchange("reduce-scatter", peer -> {
            if (bf16) {
                sendBf16(peer, v, s[peer][0], s[peer][1]);
            } else {
                send(peer, v, s[peer][0], s[peer][1]);
            }
        }, peer -> {
            if (bf16) {
                receiveAddBf16(peer, v, s[rank][0], s[rank][1]);
            } else {
                receiveAdd(peer, v, s[rank][0], s[rank][1]);
            }
        });
    }

    /** Afterwards every slice of {@code v} holds its owner's values. */
    void allGather(INDArray v) throws IOException {
        long[][] s = slices(v.length(), size);
        exchange("all-gather", peer -> send(peer, v, s[rank][0], s[rank][1]), peer -> receiveInto(peer, v, s[peer][0], s[peer][1]));
    }

    /** What a collective does with one peer. */
    private interface PeerIo {
        void run(int peer) throws IOException;
    }

    /** Sends to every peer on the send threads while receiving from every peer in rank order on this one. */
    private void exchange(String what, PeerIo send, PeerIo receive) throws IOException {
        begin();
        try {
            List<Future<?>> sends = new ArrayList<>();
            for (int j = 0; j < size; j++) {
                if (j != rank) {
                    int peer = j;
                    sends.add(async(() -> send.run(peer)));
                }
            }
            for (int j = 0; j < size; j++) {
                if (j != rank) {
                    receive.run(j);
                }
            }
            await(sends);
        } catch (IOException e) {
            throw failure(what, e);
        } finally {
            end();
        }
    }

    /**
     * Streams every rank's slice of a vector, in rank order, into {@code sink} on rank 0 (its own slice from
     * {@code own}, the others as they arrive, through a small buffer); the other ranks send {@code own}, their
     * slice, and pass a null sink. Rank 0 never holds the whole vector.
     */
    void gatherTo0(INDArray own, io.bitspark.model.checkpoint.StreamedModelZip.FloatSink sink) throws IOException {
        begin();
        try {
            if (rank == 0) {
                sink.put(NativeMemory.address(own), own.length());
                for (int j = 1; j < size; j++) {
                    ByteBuffer len = ByteBuffer.allocate(8);
                    readFully(peers[j], len);
                    int peer = j;
                    pieces(0, len.flip().getLong(), SCRATCH_FLOATS, (at, n) -> {
                        readFully(peers[peer], NativeViews.bytes(scratch, 0, 4 * n));
                        received.addAndGet(4L * n);
                        sink.put(scratchAddress, n);
                    });
                }
            } else {
                writeFully(peers[0], ByteBuffer.allocate(8).putLong(own.length()).flip());
                send(0, own, 0, own.length());
            }
        } catch (IOException e) {
            throw failure("gather", e);
        } finally {
            end();
        }
    }

    /** Every rank ends with the mean over ranks of {@code v} (reduce-scatter, scale, all-gather). */
    /** Element-wise sum over all ranks, left on every rank (reduce-scatter, then all-gather). */
    void allReduceSum(INDArray v) throws IOException {
        reduceScatter(v);
        allGather(v);
    }

    void allReduceMean(INDArray v) throws IOException {
        reduceScatter(v);
        long[] own = ParameterLayout.slice(v.length(), rank, size);
        if (own[1] > own[0]) {
            v.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(own[0], own[1])).muli(1.0 / size);
        }
        allGather(v);
    }

    @Override
    public void close() {
        closed = true;
        watchdog.interrupt();
        senders.shutdownNow();
        abort();
    }
}
