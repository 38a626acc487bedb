package dev.thaw.node.instance;

import dev.thaw.core.FunctionManifest;
import java.util.List;
import java.util.Map;

/**
 * Invocations a function's own code makes through its node: what the instance sends to
 * {@code THAW_NODE_URL} (its Runtime API listener, under {@code /thaw-node}), answered as the node's
 * public invoke API answers, for the functions the caller's deployment may invoke. The instance
 * reaches nothing else of the node's API, and never holds the node's API token.
 */
public interface FunctionCalls {

    /** An answer: status, headers and body as the node's API gave them. */
    record Answer(int status, List<Map.Entry<String, String>> headers, byte[] body) {
    }

    /**
     * @param caller the calling function's deployment
     * @param method the request's method
     * @param target the request target after {@code /thaw-node}, query included
     * @param headers the request's headers, by lower-case name
     * @param body the request's body
     * @return the answer to give the instance (the node's, or a refusal)
     */
    Answer invoke(FunctionManifest caller, String method, String target, Map<String, String> headers, byte[] body);
}
