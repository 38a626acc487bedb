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
}
