package dev.thaw.node.function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.thaw.core.ErrorType;
import dev.thaw.core.ThawException;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Every form in which AWS clients name a function and its version. */
class FunctionRefTest {

    private static FunctionRef parse(String name) {
        return FunctionRef.parse(name, Optional.empty());
    }

    @Test
    void aPlainNameIsTheLatestVersion() {
        FunctionRef r = parse("my-fn_1");
        assertThat(r.name()).isEqualTo("my-fn_1");
        assertThat(r.qualifier()).isEmpty();
        assertThat(r.isLatest()).isTrue();
        assertThat(r.qualifierText()).isEqualTo("$LATEST");
    }

    @Test
    void aQualifierComesFromTheNameOrTheQueryParameter() {
        assertThat(parse("fn:3").versionNumber()).hasValue(3L);
        assertThat(parse("fn:live").qualifier()).hasValue("live");
        assertThat(parse("fn:$LATEST").isLatest()).isTrue();
        assertThat(FunctionRef.parse("fn", Optional.of("7")).versionNumber()).hasValue(7L);
        assertThat(FunctionRef.parse("fn", Optional.of("")).qualifier()).as("an empty parameter is none").isEmpty();
        assertThat(FunctionRef.parse("fn:live", Optional.of("live")).qualifier()).hasValue("live");
        assertThat(parse("fn:live").isLatest()).isFalse();
        assertThat(parse("fn:live").versionNumber()).isEmpty();
        assertThat(parse("fn:live")).hasToString("fn:live");
    }

    @Test
    void lambdaArnsFullAndPartialAndTheNodesOwnForm() {
        FunctionRef full = parse("arn:aws:lambda:us-east-1:123456789012:function:fn");
        assertThat(full.name()).isEqualTo("fn");
        assertThat(full.qualifier()).isEmpty();
        assertThat(parse("arn:aws:lambda:eu-west-3:123456789012:function:fn:live").qualifier()).hasValue("live");
        assertThat(parse("arn:aws-cn:lambda:cn-north-1:123456789012:function:fn:2").versionNumber()).hasValue(2L);
        assertThat(parse("arn:thaw:lambda:local:000000000000:function:fn:4").versionNumber()).hasValue(4L);
        assertThat(parse("123456789012:function:fn:$LATEST").isLatest()).isTrue();
        assertThat(FunctionRef.parse("arn:aws:lambda:us-east-1:123456789012:function:fn", Optional.of("9"))
                .versionNumber()).hasValue(9L);
    }

    @Test
    void badNamesAndQualifiersAreRefusedNamingWhatIsWrong() {
        expectInvalid(() -> parse(""), "a function name is required");
        expectInvalid(() -> parse("arn:aws:s3:::bucket"), "'arn:aws:s3:::bucket' is not a Lambda function ARN");
        expectInvalid(() -> parse("-fn"), "'-fn' is not a valid function name");
        expectInvalid(() -> parse("fn:a:b"), "'a:b' is not a valid qualifier");
        expectInvalid(() -> parse("fn:0"), "'0' is not a valid qualifier");
        expectInvalid(() -> parse("fn:with space"), "'with space' is not a valid qualifier");
        expectInvalid(() -> FunctionRef.parse("fn:1", Optional.of("2")),
                "the qualifier in the function name ('1') does not match the Qualifier parameter ('2')");
    }

    @Test
    void aliasNamesFollowLambdasRule() {
        assertThat(FunctionRef.isValidAlias("live")).isTrue();
        assertThat(FunctionRef.isValidAlias("v2-blue_1")).isTrue();
        assertThat(FunctionRef.isValidAlias("12")).as("all digits is a version").isFalse();
        assertThat(FunctionRef.isValidAlias("$LATEST")).isFalse();
        assertThat(FunctionRef.isValidAlias("a".repeat(129))).isFalse();
    }

    private static void expectInvalid(Runnable r, String message) {
        assertThatThrownBy(r::run).isInstanceOf(ThawException.class).hasMessageContaining(message)
                .satisfies(e -> assertThat(((ThawException) e).type()).isEqualTo(ErrorType.InvalidRequest));
    }
}
