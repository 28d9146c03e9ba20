package io.bitspark.model.checkpoint;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import io.bitspark.model.arch.ResNetV2Spec;
import io.bitspark.build.BuildInfo;

/**
 * Where a checkpoint or export came from: architecture, resolved job configuration, seed, training
 * position, the data it saw (manifest hash), class names, code and library versions, and creation time.
 * Written as JSON beside every artifact (and inside project checkpoints), and printed by {@code bit info}.
 *
 * @param format           format tag, {@link #FORMAT}
 * @param kind             what made it ({@link Kind}: pretrain, finetune, export, import)
 * @param spec             the architecture
 * @param config           the resolved job configuration (flattened keys to values)
 * @param seed             the run's seed
 * @param globalStep       optimizer steps taken (global, across workers)
 * @param epoch            epochs completed
 * @param dataManifestHash {@code sha256:...} of the training data manifest, or null
 * @param classNames       class index to name, or null when unknown
 * @param codeVersion      {@link BuildInfo#codeVersion()}
 * @param libraries        library versions
 * @param createdAt        ISO-8601 instant
 * @param parent           the artifact this one was made from, or null
 * @param files            file name to size and checksum, for integrity checks on load
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Provenance(String format, Kind kind, ResNetV2Spec spec, Map<String, Object> config, long seed,
                         long globalStep, long epoch, String dataManifestHash, List<String> classNames,
                         String codeVersion, Map<String, String> libraries, String createdAt, String parent,
                         Map<String, FileDigest> files) {

    public static final String FORMAT = "bit-provenance/1";

    /** Size and SHA-256 of one file of an artifact. */
    public record FileDigest(long bytes, String sha256) {}

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** What made an artifact; written in lower case. */
    public enum Kind {
        PRETRAIN, FINETUNE, EXPORT, IMPORT;

        @com.fasterxml.jackson.annotation.JsonValue
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        @com.fasterxml.jackson.annotation.JsonCreator
        public static Kind parse(String s) {
            for (Kind k : values()) {
                if (k.label().equals(s)) {
                    return k;
                }
            }
            throw new IllegalArgumentException("kind '" + s + "' is not one of pretrain, finetune, export, import");
        }

        @Override
        public String toString() {
            return label();
        }
    }

    /** A new record of {@code kind} for {@code spec}; the rest is named by the builder's methods. */
    public static Builder of(Kind kind, ResNetV2Spec spec) {
        return new Builder(kind, spec);
    }

    /** Named fields of a new record; {@link #build()} adds this build's versions and the current time. */
    public static final class Builder {
        private final Kind kind;
        private final ResNetV2Spec spec;
        private Map<String, Object> config = Map.of();
        private long seed;
        private long globalStep;
        private long epoch;
        private String dataManifestHash;
        private List<String> classNames;
        private String parent;

        private Builder(Kind kind, ResNetV2Spec spec) {
            this.kind = java.util.Objects.requireNonNull(kind, "kind");
            this.spec = java.util.Objects.requireNonNull(spec, "spec");
        }

        /** The resolved job configuration (flattened keys to values). */
        public Builder config(Map<String, Object> c) {
            this.config = c == null ? Map.of() : c;
            return this;
        }

        public Builder seed(long s) {
            this.seed = s;
            return this;
        }

        /** Optimizer steps taken (global, across workers) and the epoch they reached. */
        public Builder position(long globalSteps, long epochs) {
            this.globalStep = globalSteps;
            this.epoch = epochs;
            return this;
        }

        /** The training data: its manifest hash and class names (either may be null). */
        public Builder data(String manifestHash, List<String> names) {
            this.dataManifestHash = manifestHash;
            this.classNames = names;
            return this;
        }

        /** The artifact this one was made from. */
        public Builder parent(String p) {
            this.parent = p;
            return this;
        }

        public Provenance build() {
            return new Provenance(FORMAT, kind, spec, new LinkedHashMap<>(config), seed, globalStep, epoch, dataManifestHash,
                    classNames, BuildInfo.codeVersion(), BuildInfo.libraries(), Instant.now().toString(), parent, null);
        }
    }

    /** This record as made again, as {@code k}, from {@code parentArtifact} by this build now (an export of a checkpoint). */
    public Provenance withKind(Kind k, String parentArtifact) {
        return new Provenance(format, k, spec, config, seed, globalStep, epoch, dataManifestHash, classNames,
                BuildInfo.codeVersion(), BuildInfo.libraries(), Instant.now().toString(), parentArtifact, null);
    }

    public Provenance withSpec(ResNetV2Spec s) {
        return new Provenance(format, kind, s, config, seed, globalStep, epoch, dataManifestHash, classNames,
                codeVersion, libraries, createdAt, parent, files);
    }

    public Provenance withClassNames(List<String> names) {
        return new Provenance(format, kind, spec, config, seed, globalStep, epoch, dataManifestHash, names,
                codeVersion, libraries, createdAt, parent, files);
    }

    public Provenance withFiles(Map<String, FileDigest> f) {
        return new Provenance(format, kind, spec, config, seed, globalStep, epoch, dataManifestHash, classNames,
                codeVersion, libraries, createdAt, parent, f);
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise provenance", e);
        }
    }

    public void write(OutputStream out) throws IOException {
        out.write(toJson().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** Parses provenance JSON; {@code what} names the source in the error. */
    public static Provenance read(InputStream in, String what) throws IOException {
        try {
            Provenance p = JSON.readValue(in, Provenance.class);
            if (p.format() == null || !p.format().startsWith("bit-provenance/")) {
                throw new CheckpointException(what + ": not a bit provenance file (format " + p.format() + ")");
            }
            return p;
        } catch (JsonProcessingException e) {
            throw new CheckpointException(what + ": malformed provenance JSON: " + e.getOriginalMessage());
        }
    }

    public static Provenance fromJson(String json, String what) throws IOException {
        return read(new java.io.ByteArrayInputStream(json.getBytes(java.nio.charset.StandardCharsets.UTF_8)), what);
    }
}
