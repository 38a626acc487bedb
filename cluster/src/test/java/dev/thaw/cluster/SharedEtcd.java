package dev.thaw.cluster;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/** One etcd for all tests of a class (each test has a cluster name of its own); handles closed after each test. */
abstract class SharedEtcd {
    static LocalEtcd etcd;
    Fixtures f;

    @BeforeAll
    static void startEtcd() {
        etcd = LocalEtcd.start();
    }

    @AfterAll
    static void stopEtcd() {
        if (etcd != null) {
            etcd.close();
            etcd = null;
        }
    }

    @BeforeEach
    void fixtures() {
        f = new Fixtures(etcd.clientEndpoint());
    }

    @AfterEach
    void closeHandles() {
        f.close();
    }
}
