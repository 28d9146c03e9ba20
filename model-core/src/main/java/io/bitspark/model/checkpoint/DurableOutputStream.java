package io.bitspark.model.checkpoint;

import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;

/**
 * A buffered stream that makes its bytes durable when it closes: flush, then {@code sync} (fsync, hsync), then close
 * the underlying stream, then {@code after} (e.g. fsync the folder). Closing twice does nothing.
 */
public final class DurableOutputStream extends BufferedOutputStream {

    /** A step of closing. */
    public interface Step {
        void run() throws IOException;
    }

    private final Step sync;
    private final Closeable underlying;
    private final Step after;
    private boolean closed;

    public DurableOutputStream(OutputStream out, Step sync, Closeable underlying, Step after) {
        super(out, 1 << 16);
        this.sync = sync;
        this.underlying = underlying;
        this.after = after;
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            flush();
            sync.run();
        } finally {
            underlying.close();
        }
        after.run();
    }
}
