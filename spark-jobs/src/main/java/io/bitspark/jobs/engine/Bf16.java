package io.bitspark.jobs.engine;

/** bfloat16: the upper 16 bits of a float32 (8-bit exponent, 7-bit mantissa), rounded to nearest even. */
final class Bf16 {

    private Bf16() {}

    static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7F800000) == 0x7F800000 && (bits & 0x007FFFFF) != 0) {
            return (short) ((bits >>> 16) | 0x0040); // NaN stays a (quiet) NaN
        }
        int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
        return (short) (rounded >>> 16);
    }

    static float toFloat(short h) {
        return Float.intBitsToFloat((h & 0xFFFF) << 16);
    }
}
