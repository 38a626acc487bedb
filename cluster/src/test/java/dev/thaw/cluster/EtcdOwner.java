package dev.thaw.cluster;

/** Starts a LocalEtcd, prints its pid and data directory, and waits to be killed without closing it. */
public final class EtcdOwner {
    private EtcdOwner() {
    }

    public static void main(String[] args) throws Exception {
        LocalEtcd etcd = LocalEtcd.start();
        System.out.println(etcd.pid() + " " + etcd.dataDir());
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
