package io.bitspark.model.io;

import java.io.IOException;

/** A file that is not valid NumPy {@code .npy}/{@code .npz} data; the message names the file and entry. */
public class NpyFormatException extends IOException {
    public NpyFormatException(String message) {
        super(message);
    }
}
