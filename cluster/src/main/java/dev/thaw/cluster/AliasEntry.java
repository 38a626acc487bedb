package dev.thaw.cluster;

import java.time.Instant;

/**
 * A cluster-wide alias: a name for one version of a function, as Lambda's aliases are.
 *
 * @param function the function
 * @param alias the alias's name
 * @param version the version it names
 * @param setBy the node it was created or last moved through
 * @param setAt when, by that node's clock (informational: nothing is ordered by it)
 */
public record AliasEntry(String function, String alias, long version, String setBy, Instant setAt) {
}
