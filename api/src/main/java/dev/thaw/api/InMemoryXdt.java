package dev.thaw.api;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/** {@link Xdt#inMemory()}: references to arrays in this JVM, with read limits and expiry. */
final class InMemoryXdt implements Xdt {
    private record Entry(byte[] data, long expiresAtNanos, int[] readsLeft) {
    }

    private final Map<String, Entry> entries = new ConcurrentHashMap<>();

    @Override
    public String put(InputStream data, XdtOptions options) {
        byte[] bytes;
        try {
            bytes = data.readAllBytes();
        } catch (IOException e) {
            throw new XdtException(XdtException.Reason.UNAVAILABLE, "reading the data to put failed: " + e.getMessage(), e);
        }
        String ref = "mem." + UUID.randomUUID().toString().replace("-", "");
        entries.put(ref, new Entry(bytes, System.nanoTime() + options.ttl().toNanos(), new int[] {options.reads()}));
        return ref;
    }

    @Override
    public InputStream open(String reference) {
        if (reference == null || !reference.startsWith("mem.")) {
            throw new XdtException(XdtException.Reason.MALFORMED, "not a reference of this in-memory XDT: " + reference);
        }
        Entry e = entries.get(reference);
        if (e == null) {
            throw new XdtException(XdtException.Reason.USED_UP, "the reference was read as often as it allows, or never existed");
        }
        if (System.nanoTime() - e.expiresAtNanos() > 0) {
            entries.remove(reference);
            throw new XdtException(XdtException.Reason.EXPIRED, "the reference expired");
        }
        synchronized (e) {
            if (e.readsLeft()[0] == 0) {
                throw new XdtException(XdtException.Reason.USED_UP, "the reference was read as often as it allows");
            }
            if (--e.readsLeft()[0] == 0) {
                entries.remove(reference);
            }
        }
        return new ByteArrayInputStream(e.data());
    }
}
