package dev.thaw.it;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Base of the test classes that share one node with snapshots on. Test classes run one after the
 * other (surefire's default), so the static node belongs to one class at a time.
 */
abstract class WithSnapshotNode {
    static TestNode node;

    @BeforeAll
    static void startNode() throws Exception {
        assumeTrue(TestNode.criuAvailable(), "CRIU is not usable here (run scripts/install-criu.sh as root)");
        node = new TestNode();
    }

    @AfterAll
    static void stopNode() throws Exception {
        if (node != null) {
            node.close();
            node = null;
        }
    }
}
