package dev.thaw.node.function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.thaw.core.ErrorType;
import dev.thaw.core.FunctionManifest;
import dev.thaw.core.ThawException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Deploys are checked before anything is written, laid out by archive layout, and survive a restart. */
class FunctionStoreTest {
    @TempDir
    Path data;

    private static byte[] zip(Map<String, byte[]> entries) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bytes)) {
            for (var e : entries.entrySet()) {
                z.putNextEntry(new ZipEntry(e.getKey()));
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return bytes.toByteArray();
    }

    private static FunctionManifest java(String name, String handler) {
        return new FunctionManifest(name, handler, null, null, null, Map.of("SECRET", "v"), null, null);
    }

    @Test
    void plainJarDeploysAndVersionsGrowAcrossRedeployAndRestart() throws IOException {
        FunctionStore store = new FunctionStore(data);
        byte[] jar = zip(Map.of("com/x/H.class", new byte[] {1}));
        Deployment v1 = store.deploy(java("f", "com.x.H::handle"), jar);
        Deployment v2 = store.deploy(java("f", "com.x.H::handle"), jar);
        assertThat(v1.version()).isEqualTo(1);
        assertThat(v2.version()).isEqualTo(2);
        assertThat(Files.exists(v1.dir())).as("an older version stays invocable").isTrue();
        assertThat(store.version("f", 1)).hasValue(v1);
        assertThat(v2.classpath()).containsExactly(v2.codeDir());
        assertThat(v2.codeSha256()).hasSize(64);

        FunctionStore reopened = new FunctionStore(data);
        assertThat(reopened.get("f")).hasValueSatisfying(d -> {
            assertThat(d.version()).isEqualTo(2);
            assertThat(d.manifest().environment()).containsEntry("SECRET", "v");
        });
        assertThat(reopened.versions("f")).extracting(Deployment::version).containsExactly(1L, 2L);
        reopened.delete("f");
        assertThat(new FunctionStore(data).get("f")).isEmpty();
        assertThat(Files.exists(v1.dir())).as("a delete removes every version").isFalse();
        assertThat(new FunctionStore(data).deploy(java("f", "com.x.H"), jar).version())
                .as("versions keep growing after a delete").isEqualTo(3);
    }

    @Test
    void aliasesPointToStoredVersionsAndSurviveARestart() throws IOException {
        FunctionStore store = new FunctionStore(data);
        byte[] jar = zip(Map.of("com/x/H.class", new byte[] {1}));
        store.deploy(java("f", "com.x.H"), jar);
        store.deploy(java("f", "com.x.H"), jar);
        assertThat(store.setAlias("f", "live", 1)).isEmpty();
        assertThat(store.setAlias("f", "live", 2)).as("moved: the previous target").hasValue(1L);
        assertThat(store.setAlias("f", "canary-1_a", 1)).isEmpty();
        assertThatThrownBy(() -> store.setAlias("f", "beta", 7)).hasMessageContaining("has no version 7")
                .satisfies(e -> assertThat(((ThawException) e).type()).isEqualTo(ErrorType.FunctionNotFound));
        assertThatThrownBy(() -> store.setAlias("f", "123", 1)).hasMessageContaining("not a valid alias name");
        assertThatThrownBy(() -> store.setAlias("f", "$LATEST", 1)).hasMessageContaining("not a valid alias name");
        assertThatThrownBy(() -> store.setAlias("g", "live", 1)).hasMessageContaining("no function named 'g'");

        FunctionStore reopened = new FunctionStore(data);
        assertThat(reopened.aliases("f")).containsExactly(Map.entry("canary-1_a", 1L), Map.entry("live", 2L));
        assertThat(reopened.alias("f", "live")).hasValue(2L);
        assertThat(reopened.deleteAlias("f", "canary-1_a")).hasValue(1L);
        assertThat(reopened.deleteAlias("f", "canary-1_a")).isEmpty();
        assertThat(new FunctionStore(data).aliases("f")).containsOnlyKeys("live");
    }

    @Test
    void theRetentionKeepsTheNewestVersionsAndEveryAliasedOne() {
        var stored = new java.util.TreeSet<>(java.util.List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L));
        assertThat(FunctionStore.retained(stored, java.util.List.of(), 5)).containsExactlyInAnyOrder(4L, 5L, 6L, 7L, 8L);
        assertThat(FunctionStore.retained(stored, java.util.List.of(2L, 7L, 99L), 5))
                .as("aliased versions too; an alias to a version not stored keeps nothing")
                .containsExactlyInAnyOrder(2L, 4L, 5L, 6L, 7L, 8L);
        assertThat(FunctionStore.retained(stored, java.util.List.of(), 1)).containsExactly(8L);
        assertThat(FunctionStore.retained(new java.util.TreeSet<>(java.util.List.of(3L)), java.util.List.of(), 5))
                .containsExactly(3L);
        assertThatThrownBy(() -> FunctionStore.retained(stored, java.util.List.of(), 0))
                .hasMessageContaining("keepLast must be >= 1, got 0");
    }

    @Test
    void prunableVersionsAreForgottenWithTheirFilesButNeverTheLatestOrAnAliasedOne() throws IOException {
        FunctionStore store = new FunctionStore(data);
        byte[] jar = zip(Map.of("com/x/H.class", new byte[] {1}));
        for (int i = 0; i < 4; i++) {
            store.deploy(java("f", "com.x.H"), jar);
        }
        store.setAlias("f", "old", 1);
        assertThat(store.prunable("f", 2)).extracting(Deployment::version).containsExactly(2L);
        Deployment v2 = store.version("f", 2).orElseThrow();
        store.forget(v2);
        assertThat(store.version("f", 2)).isEmpty();
        assertThat(Files.exists(v2.dir())).isFalse();
        assertThat(new FunctionStore(data).versions("f")).extracting(Deployment::version).containsExactly(1L, 3L, 4L);
        assertThatThrownBy(() -> store.forget(store.version("f", 4).orElseThrow())).hasMessageContaining("is the latest");
        assertThatThrownBy(() -> store.forget(store.version("f", 1).orElseThrow())).hasMessageContaining("has an alias");
        store.deleteAlias("f", "old");
        assertThat(store.prunable("f", 2)).extracting(Deployment::version).containsExactly(1L);
    }

    @Test
    void springBootAndLambdaLayoutsGetTheirClassPath() throws IOException {
        FunctionStore store = new FunctionStore(data);
        byte[] lib = zip(Map.of("org/lib/L.class", new byte[] {1}));
        Deployment boot = store.deploy(java("boot", "app.App"), zip(Map.of(
                "BOOT-INF/classes/app/App.class", new byte[] {1},
                "BOOT-INF/lib/a.jar", lib,
                "BOOT-INF/classpath.idx", "- \"BOOT-INF/lib/a.jar\"\n".getBytes())));
        assertThat(boot.classpath()).containsExactly(boot.codeDir().resolve("BOOT-INF/classes"),
                boot.codeDir().resolve("BOOT-INF/lib/a.jar"));

        Deployment lambda = store.deploy(java("lambda", "org.lib.L"), zip(Map.of("lib/a.jar", lib)));
        assertThat(lambda.classpath()).containsExactly(lambda.codeDir(), lambda.codeDir().resolve("lib/a.jar"));
    }

    @Test
    void badArchivesAreRejectedBeforeAnythingIsWritten() throws IOException {
        FunctionStore store = new FunctionStore(data);
        assertThatThrownBy(() -> store.deploy(java("f", "a.B"), "plain text".getBytes()))
                .isInstanceOf(ThawException.class).hasMessageContaining("not a JAR")
                .satisfies(e -> assertThat(((ThawException) e).type()).isEqualTo(ErrorType.InvalidDeployment));
        assertThatThrownBy(() -> store.deploy(java("f", "a.Missing::x"), zip(Map.of("a/B.class", new byte[] {1}))))
                .hasMessageContaining("handler class 'a.Missing' is not in the code");
        assertThatThrownBy(() -> store.deploy(java("f", "a.B"), zip(Map.of("a/B.class", new byte[] {1},
                "../../escape.txt", new byte[] {1})))).hasMessageContaining("points outside the archive");
        assertThatThrownBy(() -> store.deploy(new FunctionManifest("c", null, "provided", null, null, null, null, null),
                zip(Map.of("README", new byte[] {1})))).hasMessageContaining("needs an executable 'bootstrap'");
        assertThat(store.list()).isEmpty();
        assertThat(Files.exists(data.resolve("escape.txt"))).isFalse();
    }
}
