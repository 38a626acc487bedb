/**
 * The API a function author compiles against when not using AWS Lambda's interfaces:
 * {@link dev.thaw.api.Handler} and {@link dev.thaw.api.InvocationContext}. Lifecycle hooks use the
 * standard {@code org.crac} API, which thaw's runtime implements.
 */
package dev.thaw.api;
