package dev.thaw.cluster;

import java.time.Instant;

/**
 * One deployed version of a function, as the registry stores it. Version numbers start at 1 and
 * increase by one per deploy, in the order etcd committed the deploys; they are never reused, not
 * even after a delete.
 *
 * @param name the function's name
 * @param version its version number
 * @param manifest the manifest, JSON text as deployed
 * @param codeHash content hash of the code
 * @param codeSize size of the code in bytes
 * @param codeKey key of the code object in S3
 * @param deployedBy id of the node the deploy went through
 * @param deployedAt when, by that node's clock (informative only: the order is {@code version}'s)
 */
public record FunctionVersion(String name, long version, String manifest, String codeHash, long codeSize, String codeKey,
                              String deployedBy, Instant deployedAt) {

    /** Validates every field. */
    public FunctionVersion {
        Checks.function(name);
        Checks.version(version);
        Checks.notNull("manifest", manifest);
        Checks.text("code hash", codeHash);
        Checks.notNegative("code size", codeSize);
        Checks.text("code key", codeKey);
        Checks.id("deploying node id", deployedBy);
        Checks.notNull("deploy time", deployedAt);
    }

    /** @return {@code name@version}, the form the node uses in snapshot ids and logs */
    public String qualifiedName() {
        return name + "@" + version;
    }
}
