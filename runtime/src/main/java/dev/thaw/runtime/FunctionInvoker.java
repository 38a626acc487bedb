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

    /**
     * @return the handler's own event reading and result writing, to be run without the handler before
     *     a checkpoint; empty for a handler that takes raw bytes, or whose types yield no readable sample
     */
    default java.util.Optional<Conversions> conversions() {
        return java.util.Optional.empty();
    }

    /**
     * What an invocation does around the handler's call, without the call: reads a made-up event of
     * the handler's declared input type with the very reader invocations use and writes a made-up value
     * of its declared output type with their writer (EventSamples). The warm-up before a checkpoint
     * runs it, so Jackson's path for the function's own types is loaded, profiled and compiled in the
     * snapshot. Jackson builds those values with the types' constructors and setters, as for every event;
     * the handler itself is never called.
     */
    interface Conversions {
        /**
         * @param round picks one of the made-up events and results (they differ where parsers branch)
         * @return the written result, JSON
         */
        byte[] exercise(int round) throws java.io.IOException;

        /** @return for the instance's log: how many made-up events and results, of which types */
        String summary();
    }

    /** A handler's freshen hook, found by {@link HandlerLoader}. */
    @FunctionalInterface
    interface FreshenHook {
        void call(dev.thaw.api.FreshenContext context) throws Throwable;
    }
}
