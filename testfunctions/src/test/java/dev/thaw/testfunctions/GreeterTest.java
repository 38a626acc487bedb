package dev.thaw.testfunctions;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class GreeterTest {

    private final Greeter greeter = new Greeter();

    @Test
    void repeatsTheGreeting() {
        assertThat(greeter.handle(new GreetRequest("Ada", 3), null)).isEqualTo(new GreetResponse("Hi Ada Hi Ada Hi Ada"));
        assertThat(greeter.handle(new GreetRequest("Ada", 1), null).message()).isEqualTo("Hi Ada");
        assertThat(greeter.handle(new GreetRequest("Ada", 0), null).message()).isEmpty();
    }

    @Test
    void rejectsNegativeTimes() {
        assertThatThrownBy(() -> greeter.handle(new GreetRequest("Ada", -1), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("times must not be negative: -1");
    }
}
