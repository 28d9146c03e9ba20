package io.bitspark.jobs.transfer;

import java.util.LinkedHashMap;
import java.util.Map;

import io.bitspark.model.train.HyperRule;

/**
 * Hyper-parameters of one transfer run: the BiT-HyperRule's values for the data set, each of which a user may
 * override (on a laptop, fewer steps and a smaller batch and resolution make few-shot studies feasible), and
 * whether training views are flipped (the rule flips; structured tasks whose labels a mirror changes do not).
 */
public record FineTuneSettings(long[] supports, double baseLr, int batch, int microBatch, int resize, int crop,
                               double mixupAlpha, long seed, boolean flip) {

    public long steps() {
        return supports[supports.length - 1];
    }

    /** The rule's choice for a data set of {@code size} images of about {@code w x h} pixels. */
    public static FineTuneSettings hyperRule(long size, int w, int h, long seed) {
        HyperRule.Resolution r = HyperRule.resolution(w, h);
        return new FineTuneSettings(HyperRule.supports(size), HyperRule.BASE_LR, HyperRule.BATCH, HyperRule.BATCH,
                r.resize(), r.crop(), HyperRule.mixupAlpha(size), seed, true);
    }

    /** Overrides; nulls keep the rule's value. Steps rescale the supports proportionally. */
    public FineTuneSettings with(Long steps, Double lr, Integer batchSize, Integer micro, Integer resizeTo, Integer cropTo, Double alpha) {
        long[] s = supports.clone();
        if (steps != null) {
            if (steps < 5) {
                throw new IllegalArgumentException("--steps must be at least 5, got " + steps);
            }
            long old = steps();
            for (int i = 0; i < s.length; i++) {
                s[i] = Math.max(1, Math.round(supports[i] * (double) steps / old));
            }
            s[s.length - 1] = steps;
        }
        int b = batchSize != null ? batchSize : batch;
        int mb = micro != null ? micro : Math.min(microBatch, b);
        int rs = resizeTo != null ? resizeTo : resize;
        int cr = cropTo != null ? cropTo : crop;
        if (b < 1 || mb < 1 || b % mb != 0) {
            throw new IllegalArgumentException("batch (" + b + ") must be a positive multiple of the micro-batch (" + mb + ")");
        }
        if (cr < 8 || cr > rs) {
            throw new IllegalArgumentException("crop (" + cr + ") must be between 8 and the resize (" + rs + ")");
        }
        return new FineTuneSettings(s, lr != null ? lr : baseLr, b, mb, rs, cr, alpha != null ? alpha : mixupAlpha, seed, flip);
    }

    public FineTuneSettings withSeed(long s) {
        return new FineTuneSettings(supports, baseLr, batch, microBatch, resize, crop, mixupAlpha, s, flip);
    }

    /** Without horizontal flips (tasks whose labels a mirror image changes: orientation, left/right location). */
    public FineTuneSettings withFlip(boolean f) {
        return new FineTuneSettings(supports, baseLr, batch, microBatch, resize, crop, mixupAlpha, seed, f);
    }

    public Map<String, Object> asMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("supports", java.util.Arrays.toString(supports));
        m.put("base_lr", baseLr);
        m.put("batch", batch);
        m.put("micro_batch", microBatch);
        m.put("resize", resize);
        m.put("crop", crop);
        m.put("mixup_alpha", mixupAlpha);
        m.put("seed", seed);
        m.put("flip", flip);
        return m;
    }
}
