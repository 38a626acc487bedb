/**
 * The operator's path out of a sandboxed function instance. {@link dev.thaw.egress.EgressPolicy} is
 * the allow list ({@code host:port}, {@code *.suffix:port}, {@code host:*}, {@code *:port},
 * {@code *}), which decides on the address it resolved and the proxy will connect to;
 * {@link dev.thaw.egress.EgressProxy} serves an HTTP proxy ({@code CONNECT} and absolute-URI
 * requests) on a listener the node opened inside the instance's network namespace and makes the
 * allowed connections from the node's own namespace.
 *
 * <p>Bad patterns throw {@link java.lang.IllegalArgumentException} naming the pattern. Nothing here
 * knows about namespaces, the node or its metrics: the node hands in a listener and an
 * {@link dev.thaw.egress.EgressProxy.Observer}. {@code egress/README.md} explains the design.
 */
package dev.thaw.egress;
