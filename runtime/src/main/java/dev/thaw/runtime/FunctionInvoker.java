package dev.thaw.runtime;

/** Runs one invocation of a loaded function: event bytes in, result bytes (JSON) out. */
interface FunctionInvoker {

    /**
     * @param event the event as received (JSON)
     * @param context the invocation's context
     * @return the result, JSON
     * @throws Throwable whatever the handler threw, unwrapped
     */
    byte[] invoke(byte[] event, RuntimeContext context) throws Throwable;

    /** @return the handler's freshen hook, if it has one */
    default java.util.Optional<FreshenHook> freshen() {
        return java.util.Optional.empty();
    }

    /** A handler's freshen hook, found by {@link HandlerLoader}. */
    @FunctionalInterface
    interface FreshenHook {
        void call(dev.thaw.api.FreshenContext context) throws Throwable;
    }
}
