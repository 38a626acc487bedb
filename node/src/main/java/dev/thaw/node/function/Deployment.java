package dev.thaw.node.function;

import dev.thaw.core.FunctionManifest;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/**
 * One deployed version of a function, as stored under {@code dataDir/functions/NAME/vVERSION}.
 *
 * @param manifest the validated manifest
 * @param version the version number
 * @param dir the version's directory (manifest, code, snapshot)
 * @param codeDir the unpacked code
 * @param classpath the function's class path inside {@code codeDir}
 * @param codeSha256 hex SHA-256 of the uploaded archive
 * @param codeSizeBytes size of the uploaded archive
 * @param deployedAt when it was deployed
 */
public record Deployment(FunctionManifest manifest, long version, Path dir, Path codeDir, List<Path> classpath,
                  String codeSha256, long codeSizeBytes, Instant deployedAt) {

    public String name() {
        return manifest.name();
    }

    public Path snapshotDir() {
        return dir.resolve("snapshot");
    }

    public String arn() {
        return "arn:thaw:lambda:local:000000000000:function:" + name() + ":" + version;
    }
}
