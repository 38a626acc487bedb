package dev.thaw.cluster;

/**
 * A change of the function registry as this node's watch saw it: a subscriber is first told of every
 * current function as {@link Deployed}, then of changes in etcd's order.
 */
public sealed interface FunctionEvent {

    /** @return the function's name */
    String name();

    /** A version became the function's current one (a deploy through any node). */
    record Deployed(FunctionVersion function) implements FunctionEvent {
        @Override
        public String name() {
            return function.name();
        }
    }

    /** The function was deleted; {@code lastVersion} was its current version. */
    record Deleted(String name, long lastVersion) implements FunctionEvent {
    }

    /** An alias of the function was created or moved (through any node). */
    record Aliased(AliasEntry entry) implements FunctionEvent {
        @Override
        public String name() {
            return entry.function();
        }
    }

    /** An alias of the function was deleted (through any node, or with its function). */
    record Unaliased(String name, String alias) implements FunctionEvent {
    }
}
