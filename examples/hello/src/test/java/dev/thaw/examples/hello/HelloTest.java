package dev.thaw.examples.hello;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HelloTest {

    private final Hello hello = new Hello();

    @Test
    void greetsByName() {
        assertThat(hello.handle(Map.of("name", "Ada"), null)).containsExactly(Map.entry("message", "Hello, Ada!"));
    }

    @Test
    void greetsTheWorldWithoutAName() {
        assertThat(hello.handle(Map.of(), null)).containsEntry("message", "Hello, world!");
        assertThat(hello.handle(null, null)).containsEntry("message", "Hello, world!");
        assertThat(hello.handle(Map.of("name", "   "), null)).containsEntry("message", "Hello, world!");
        Map<String, Object> nullName = new HashMap<>();
        nullName.put("name", null);
        assertThat(hello.handle(nullName, null)).containsEntry("message", "Hello, world!");
    }
}
