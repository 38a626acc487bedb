package dev.thaw.runtime;

import dev.thaw.protocol.RuntimeProtocol.Env;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * What the node tells an instance through its environment. Lambda's own variable names where
 * Lambda has one ({@code _HANDLER}, {@code AWS_LAMBDA_RUNTIME_API}, ...), {@code THAW_} otherwise.
 *
 * @param runtimeApi host:port[/prefix] of the Runtime API
 * @param handler {@code Class::method} or {@code Class}
 * @param functionName the function's name
 * @param functionVersion its version
 * @param memoryMb its memory limit
 * @param classpath the function's class path entries (directories and JARs)
 * @param checkpointAfterInit whether the node will checkpoint this instance after init
 * @param controlToken the token that marks the runtime's control lines on stdout
 * @param restoreHookBudgetMs the time budget of the afterRestore hooks
 * @param primeRounds how many priming invocations to run before the checkpoint (0: none)
 * @param primeBudgetMs no priming invocation starts once the earlier ones took this long together
 */
record RuntimeConfig(String runtimeApi, String handler, String functionName, String functionVersion, int memoryMb,
                     List<Path> classpath, boolean checkpointAfterInit, String controlToken, long restoreHookBudgetMs,
                     int primeRounds, long primeBudgetMs) {

    static RuntimeConfig fromEnvironment(Map<String, String> env) {
        return new RuntimeConfig(
                require(env, Env.RUNTIME_API),
                require(env, Env.HANDLER),
                env.getOrDefault(Env.FUNCTION_NAME, "function"),
                env.getOrDefault(Env.FUNCTION_VERSION, "1"),
                Integer.parseInt(env.getOrDefault(Env.FUNCTION_MEMORY_SIZE, "512")),
                Arrays.stream(env.getOrDefault(Env.CLASSPATH, "").split(java.io.File.pathSeparator))
                        .filter(s -> !s.isBlank()).map(Path::of).toList(),
                "1".equals(env.get(Env.CHECKPOINT)),
                env.getOrDefault(Env.CONTROL_TOKEN, ""),
                Long.parseLong(env.getOrDefault(Env.RESTORE_HOOK_BUDGET_MS, "10000")),
                Integer.parseInt(env.getOrDefault(Env.PRIME_ROUNDS, "0")),
                Long.parseLong(env.getOrDefault(Env.PRIME_BUDGET_MS, "30000")));
    }

    /** @return a copy that talks to another Runtime API address (a restored clone's own) */
    RuntimeConfig withRuntimeApi(String api) {
        return new RuntimeConfig(api, handler, functionName, functionVersion, memoryMb, classpath,
                checkpointAfterInit, controlToken, restoreHookBudgetMs, primeRounds, primeBudgetMs);
    }

    private static String require(Map<String, String> env, String key) {
        String v = env.get(key);
        if (v == null || v.isBlank()) {
            throw new IllegalStateException(key + " is not set: the thaw runtime must be started by a thaw node");
        }
        return v;
    }
}
