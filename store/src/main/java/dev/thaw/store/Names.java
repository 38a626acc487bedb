package dev.thaw.store;

/** Validation of the names the store accepts from callers and from manifests. */
final class Names {
    private Names() {
    }

    /** Checked on every read, so compiled once. */
    private static final java.util.regex.Pattern SNAPSHOT_ID = java.util.regex.Pattern.compile("[A-Za-z0-9_@:-][A-Za-z0-9._@:-]{0,199}");

    /** Snapshot ids: 1-200 characters of letters, digits, {@code . _ - @ :}, not starting with a dot. */
    static String checkSnapshotId(String id) {
        if (id == null || !SNAPSHOT_ID.matcher(id).matches()) {
            throw new StoreException.InvalidArgument("invalid snapshot id '" + id
                    + "': use 1-200 letters, digits or . _ - @ : (not starting with a dot)");
        }
        return id;
    }

    private static final java.util.regex.Pattern OBJECT_KEY = java.util.regex.Pattern.compile("[cm]/[0-9a-f]{64}");

    /** @return whether {@code key} is a name the store gives objects: {@code c/} or {@code m/} and 64 hex digits */
    static boolean isObjectKey(String key) {
        return key != null && OBJECT_KEY.matcher(key).matches();
    }

    /** Image file names: a single path element, not {@code .} or {@code ..}. */
    static boolean isFileName(String name) {
        return name != null && !name.isEmpty() && name.length() <= 255 && !name.contains("/") && !name.contains("\0")
                && !name.equals(".") && !name.equals("..");
    }
}
