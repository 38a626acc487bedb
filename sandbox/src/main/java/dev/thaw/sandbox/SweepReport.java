package dev.thaw.sandbox;

/**
 * What {@link Sandboxes#open} cleaned up after a node that used the same data directory and died
 * without closing its sandboxes.
 *
 * @param cgroups instance cgroups removed
 * @param processesKilled processes still running in them, killed
 * @param scratchMounts scratch mounts unmounted
 * @param directories work directories removed (scratch mount points, per-instance work)
 */
public record SweepReport(int cgroups, int processesKilled, int scratchMounts, int directories) {

    /** @return whether nothing was left behind */
    public boolean isEmpty() {
        return cgroups == 0 && processesKilled == 0 && scratchMounts == 0 && directories == 0;
    }

    /** @return e.g. {@code removed 3 cgroups (2 processes killed), 3 scratch mounts, 6 work directories} */
    @Override
    public String toString() {
        if (isEmpty()) {
            return "nothing left by an earlier node";
        }
        return "removed " + cgroups + " cgroup" + (cgroups == 1 ? "" : "s") + " (" + processesKilled + " process"
                + (processesKilled == 1 ? "" : "es") + " killed), " + scratchMounts + " scratch mount"
                + (scratchMounts == 1 ? "" : "s") + ", " + directories + " work director" + (directories == 1 ? "y" : "ies");
    }
}
