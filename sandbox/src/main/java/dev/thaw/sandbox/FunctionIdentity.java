package dev.thaw.sandbox;

/**
 * The host user and group ids a function's instances run as: a pair of each, allocated once per
 * function name and never shared with another function, so that nothing one function leaves on a
 * file system (a scratch copy, a file in a snapshot) is another's, and a process of one function
 * can never signal or trace another's.
 *
 * <p>Inside the instance's user namespace, uid and gid {@link #INSIDE_ROOT} map to
 * {@link #rootUid()} / {@link #rootGid()} (CRIU needs inside-uid 0 mapped to dump and restore a
 * user namespace; nothing runs as it) and {@link #INSIDE_USER} to {@link #uid()} / {@link #gid()},
 * which the function runs as. None of these ids is root's on the host, so inside-root owns nothing
 * outside the instance.
 *
 * <p>A CRIU image carries the user namespace's id maps: a clone always runs under the ids of the
 * instance that was dumped. A cluster whose nodes restore each other's snapshots must therefore
 * allocate these ids once per function for the whole cluster (the function registry can carry
 * them beside the deployment) instead of per node as {@link Sandboxes#identity} does.
 *
 * @param function the function's name
 * @param rootUid the host uid inside-uid 0 maps to
 * @param rootGid the host gid inside-gid 0 maps to
 * @param uid the host uid the function runs as (inside: {@link #INSIDE_USER})
 * @param gid the host gid the function runs as (inside: {@link #INSIDE_USER})
 */
public record FunctionIdentity(String function, long rootUid, long rootGid, long uid, long gid) {
    /** The uid and gid of the instance's user namespace that map to {@link #rootUid()} and {@link #rootGid()}. */
    public static final int INSIDE_ROOT = 0;
    /** The uid and gid the function runs as inside its user namespace. */
    public static final int INSIDE_USER = 1000;

    /** @return the launcher's {@code --uid-map}: inside 0 and inside 1000, one id each */
    String uidMap() {
        return INSIDE_ROOT + ":" + rootUid + ":1," + INSIDE_USER + ":" + uid + ":1";
    }

    /** @return the launcher's {@code --gid-map} */
    String gidMap() {
        return INSIDE_ROOT + ":" + rootGid + ":1," + INSIDE_USER + ":" + gid + ":1";
    }
}
