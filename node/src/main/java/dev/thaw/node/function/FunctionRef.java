package dev.thaw.node.function;

import dev.thaw.core.FunctionManifest;
import dev.thaw.core.ThawException;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which function, and which of its versions, an invocation names: the function's name and an
 * optional qualifier ({@code $LATEST}, a version number or an alias).
 *
 * <p>{@link #parse} accepts every form AWS clients send as Lambda's {@code FunctionName}: a plain
 * name, {@code name:qualifier}, a full ARN ({@code arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]},
 * any partition, and the node's own {@code arn:thaw:lambda:…} form that runtimes are shown) and a
 * partial ARN ({@code ACCOUNT:function:NAME[:QUALIFIER]}), together with the separate
 * {@code Qualifier} query parameter. Region and account are not checked: a node is one account in
 * one region.
 *
 * @param name the function's name (valid as {@link FunctionManifest#isValidName})
 * @param qualifier the qualifier, empty for an unqualified reference
 */
public record FunctionRef(String name, Optional<String> qualifier) {
    /** The qualifier of the latest version. */
    public static final String LATEST = "$LATEST";

    private static final Pattern FULL_ARN = Pattern.compile(
            "arn:[a-z0-9-]+:lambda:[a-z0-9-]*:[0-9a-zA-Z]*:function:([^:]+)(?::([^:]+))?");
    private static final Pattern PARTIAL_ARN = Pattern.compile("[0-9]{1,20}:function:([^:]+)(?::([^:]+))?");
    private static final Pattern VERSION = Pattern.compile("[1-9][0-9]{0,17}");
    /** Lambda's alias names: letters, digits, '-' and '_', not all digits. */
    private static final Pattern ALIAS = Pattern.compile("(?!^[0-9]+$)[a-zA-Z0-9_-]{1,128}");

    public FunctionRef {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(qualifier, "qualifier");
    }

    /** @return an unqualified reference to {@code name} */
    public static FunctionRef of(String name) {
        return new FunctionRef(name, Optional.empty());
    }

    /**
     * Parses what a client sent.
     *
     * @param functionName the path's function name: a name, {@code name:qualifier}, or an ARN
     * @param queryQualifier the {@code Qualifier} query parameter, if any
     * @return the reference, its name and qualifier checked
     * @throws ThawException {@link dev.thaw.core.ErrorType#InvalidRequest} naming what is wrong: a malformed
     *     name or qualifier, or a qualifier in the name that differs from the query parameter's
     */
    public static FunctionRef parse(String functionName, Optional<String> queryQualifier) {
        if (functionName == null || functionName.isEmpty()) {
            throw ThawException.invalidRequest("a function name is required");
        }
        String name;
        String fromName;
        Matcher m;
        if ((m = FULL_ARN.matcher(functionName)).matches() || (m = PARTIAL_ARN.matcher(functionName)).matches()) {
            name = m.group(1);
            fromName = m.group(2);
        } else if (functionName.startsWith("arn:")) {
            throw ThawException.invalidRequest("'%s' is not a Lambda function ARN: expected "
                    + "arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]", functionName);
        } else {
            int colon = functionName.indexOf(':');
            name = colon < 0 ? functionName : functionName.substring(0, colon);
            fromName = colon < 0 ? null : functionName.substring(colon + 1);
        }
        if (!FunctionManifest.isValidName(name)) {
            throw ThawException.invalidRequest("'%s' is not a valid function name: use 1-64 letters, digits, '-' or '_',"
                    + " starting with a letter or digit", name);
        }
        Optional<String> query = queryQualifier.filter(q -> !q.isEmpty());
        if (fromName != null && query.isPresent() && !fromName.equals(query.get())) {
            throw ThawException.invalidRequest("the qualifier in the function name ('%s') does not match the Qualifier"
                    + " parameter ('%s')", fromName, query.get());
        }
        Optional<String> qualifier = fromName != null ? Optional.of(fromName) : query;
        qualifier.ifPresent(FunctionRef::checkQualifier);
        return new FunctionRef(name, qualifier);
    }

    private static void checkQualifier(String q) {
        if (!q.equals(LATEST) && !VERSION.matcher(q).matches() && !ALIAS.matcher(q).matches()) {
            throw ThawException.invalidRequest("'%s' is not a valid qualifier: use $LATEST, a version number or an alias"
                    + " (1-128 letters, digits, '-' or '_', not all digits)", q);
        }
    }

    /** @return whether {@code alias} may name an alias (Lambda's rule: letters, digits, '-', '_', not all digits) */
    public static boolean isValidAlias(String alias) {
        return alias != null && ALIAS.matcher(alias).matches();
    }

    /** @return whether this names the latest version: no qualifier, or {@code $LATEST} */
    public boolean isLatest() {
        return qualifier.isEmpty() || qualifier.get().equals(LATEST);
    }

    /** @return the version number the qualifier names, when it is one */
    public Optional<Long> versionNumber() {
        return qualifier.filter(q -> VERSION.matcher(q).matches()).map(Long::parseLong);
    }

    /** @return the qualifier as a message shows it: {@code $LATEST} when there is none */
    public String qualifierText() {
        return qualifier.orElse(LATEST);
    }

    /** @return {@code name} or {@code name:qualifier}, as the client could have written it */
    @Override
    public String toString() {
        return qualifier.map(q -> name + ":" + q).orElse(name);
    }
}
