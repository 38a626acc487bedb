package dev.thaw.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileTreesTest {
    @TempDir
    Path tmp;

    @Test
    void deletesATreeDeepestFirst() throws IOException {
        Path root = tmp.resolve("tree");
        Files.createDirectories(root.resolve("a/b/c"));
        Files.writeString(root.resolve("a/b/c/file"), "x");
        Files.writeString(root.resolve("a/top"), "y");

        FileTrees.delete(root);

        assertThat(root).doesNotExist();
        assertThat(tmp).exists();
    }

    @Test
    void aMissingTreeIsNothingToDo() {
        Path missing = tmp.resolve("never-created");

        FileTrees.delete(missing);

        assertThat(FileTrees.deleteQuietly(missing)).isTrue();
    }

    @Test
    void deletesASingleFileToo() throws IOException {
        Path file = Files.writeString(tmp.resolve("alone"), "z");

        assertThat(FileTrees.deleteQuietly(file)).isTrue();
        assertThat(file).doesNotExist();
    }
}
