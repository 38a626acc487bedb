package dev.thaw.cluster;

import java.util.List;
import java.util.Optional;
import java.util.SortedMap;
import java.util.function.Consumer;

/**
 * The cluster-wide record of deployed functions. Each function has a current version and an ordered
 * history of versions. Versions are ordered by etcd, never by a node's clock: a deploy is a
 * compare-and-swap on the function's current record (version = previous + 1, retried on conflict),
 * so concurrent deploys through different nodes form one gap-free linear history.
 *
 * <p>Deleting a function removes its history, its snapshot catalog entries and boot claims, and
 * leaves a tombstone with the last version number, so that a later deploy of the same name continues
 * at the next number and nothing keyed by {@code name@version} (a snapshot, a cached copy) can ever
 * be mistaken for newer code.
 *
 * <p>Aliases name versions cluster-wide ({@code aliases/<name>/<alias>}): creating or moving one is
 * a transaction that holds only while the version it names exists, so an alias never names a
 * version of a deleted function; deleting the function deletes its aliases.
 *
 * <p>Reads marked so fall back to the handle's last view while etcd cannot be reached: serving the
 * last version a node knew of is what a node does anyway until it hears of a deploy.
 */
public interface FunctionRegistry {

    /**
     * Deploys a new version of the function: the current version + 1, or 1.
     *
     * @return the version as stored
     * @throws ClusterException.Unavailable if etcd cannot be reached; the deploy may or may not have
     *     been applied then ({@link #current} tells)
     * @throws ClusterException.Conflict if concurrent deploys of the same function won 64 times in a row
     */
    FunctionVersion deploy(Deployment deployment);

    /**
     * The function's current version. Falls back to the last view while etcd is unreachable.
     *
     * @return empty if the function was never deployed or is deleted
     */
    Optional<FunctionVersion> current(String name);

    /**
     * One version of a function. Falls back to the last view (which holds current versions only)
     * while etcd is unreachable.
     *
     * @return empty if there is no such version (or its function was deleted)
     */
    Optional<FunctionVersion> version(String name, long version);

    /** Current versions of every deployed function, sorted by name. Falls back to the last view while etcd is unreachable. */
    List<FunctionVersion> list();

    /**
     * Every version of the function, oldest first (empty if never deployed or deleted).
     *
     * @throws ClusterException.Unavailable if etcd cannot be reached (history is not kept locally)
     */
    List<FunctionVersion> history(String name);

    /**
     * Deletes the function (tombstone, see the class comment).
     *
     * @return whether it was deployed
     * @throws ClusterException.Unavailable if etcd cannot be reached
     */
    boolean delete(String name);

    /**
     * Creates or moves an alias of the function.
     *
     * @return the version the alias named before, if it existed
     * @throws ClusterException.NotFound if the function has no such version (or was deleted)
     * @throws ClusterException.Unavailable if etcd cannot be reached
     */
    Optional<Long> setAlias(String name, String alias, long version);

    /**
     * Deletes an alias of the function.
     *
     * @return the version it named, empty if there was no such alias
     * @throws ClusterException.Unavailable if etcd cannot be reached
     */
    Optional<Long> deleteAlias(String name, String alias);

    /**
     * The function's aliases, alias to version, sorted by alias. Falls back to the last view while
     * etcd is unreachable.
     */
    SortedMap<String, Long> aliases(String name);

    /**
     * Tells {@code listener} of every current function ({@link FunctionEvent.Deployed}) and alias
     * ({@link FunctionEvent.Aliased}), then of every deploy, delete and alias change made through any
     * node.
     */
    Subscription subscribe(Consumer<FunctionEvent> listener);
}
