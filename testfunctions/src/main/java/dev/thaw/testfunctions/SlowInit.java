package dev.thaw.testfunctions;

import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * A heavy init: the constructor sleeps 1.5 s and fills 20 MB that it keeps, so a snapshot is worth taking
 * and carries real memory. Returns {@code {"initMs": constructor time, "dataChecksum": CRC32 of the data}};
 * the data is the same in every instance, so the checksum proves a restored heap came back intact.
 * Handler {@code SlowInit::handle}.
 */
public class SlowInit implements Handler<Object, Map<String, Object>> {

    /** Size of the data kept from init. */
    static final int DATA_BYTES = 20 * 1024 * 1024;

    private final byte[] data;
    private final long initMs;

    /** Sleeps, then fills the data. */
    public SlowInit() throws InterruptedException {
        long start = System.nanoTime();
        Thread.sleep(1500);
        data = new byte[DATA_BYTES];
        // A fixed pattern, not zeros: every page is written, so it is resident and in the snapshot.
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 31 + (i >>> 12));
        }
        initMs = (System.nanoTime() - start) / 1_000_000;
    }

    @Override
    public Map<String, Object> handle(Object input, InvocationContext context) {
        CRC32 crc = new CRC32();
        crc.update(data);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("initMs", initMs);
        out.put("dataChecksum", crc.getValue());
        return out;
    }
}
