package dev.thaw.cluster;

/** What a member is doing, as the others should treat it. Written in records as its lower-case name. */
public enum MemberState {
    /** Serving: takes new work. */
    ACTIVE,
    /** Finishing what it has before it leaves: send it nothing new. */
    DRAINING;

    /** @return the name written in records: {@code active}, {@code draining} */
    public String wireName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    static MemberState fromWire(String value) {
        for (MemberState s : values()) {
            if (s.wireName().equals(value)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown member state " + Checks.quote(value));
    }
}
