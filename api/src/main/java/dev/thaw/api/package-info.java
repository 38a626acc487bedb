/**
 * The API a function author compiles against when not using AWS Lambda's interfaces:
 * {@link dev.thaw.api.Handler} and {@link dev.thaw.api.InvocationContext}; and, for any handler
 * shape, {@link dev.thaw.api.Xdt}, expedited data transfers between functions by reference
 * ({@link dev.thaw.api.XdtOptions}, {@link dev.thaw.api.XdtException}), and
 * {@link dev.thaw.api.Functions}, calls of other functions through the node
 * ({@link dev.thaw.api.FunctionCallException}). Lifecycle hooks use the
 * standard {@code org.crac} API, which thaw's runtime implements.
 */
package dev.thaw.api;
