/**
 * Benchmark workloads: realistic functions with real computations, each a
 * {@link dev.thaw.api.Handler} deployable by name from {@link dev.thaw.workloads.Workloads}.
 * Most are ports of FunctionBench's Python workloads; {@code busy-spin} and {@code chain} are synthetic
 * (CPU and memory-image size; function-to-function calls through the node).
 */
package dev.thaw.workloads;
