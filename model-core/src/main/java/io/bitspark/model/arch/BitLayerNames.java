package io.bitspark.model.arch;

import java.util.Locale;

/**
 * Vertex names of the DL4J graph. They are the BiT checkpoint paths without the {@code resnet/} prefix, so
 * that a checkpoint key is {@code "resnet/" + vertex + "/" + parameter}.
 */
public final class BitLayerNames {

    public static final String INPUT = "input";
    /** NCHW -> NHWC copy of the input when the network runs channels-last (no parameters). */
    public static final String CHANNELS_LAST = "channels_last";
    public static final String ROOT_CONV = "root_block/standardized_conv2d";
    public static final String ROOT_PAD = "root_block/pad";
    public static final String ROOT_POOL = "root_block/pool";
    public static final String FINAL_NORM = "group_norm";
    public static final String PRE_LOGITS = "pre_logits";
    public static final String HEAD = "head/conv2d";

    private BitLayerNames() {}

    /** {@code block{stage+1}/unit{unit+1, two digits}} for 0-based stage and unit. */
    public static String unit(int stage, int unit) {
        return String.format(Locale.ROOT, "block%d/unit%02d", stage + 1, unit + 1);
    }

    public static String norm(String unit, char branch) {
        return unit + "/" + branch + "/group_norm";
    }

    public static String conv(String unit, char branch) {
        return unit + "/" + branch + "/standardized_conv2d";
    }

    public static String projection(String unit) {
        return unit + "/a/proj/standardized_conv2d";
    }

    public static String add(String unit) {
        return unit + "/add";
    }
}
