package dev.thaw.protocol;

/**
 * What a node and the runtime inside an instance agree on, in one place both sides compile against.
 *
 * <p>The conversation: the node starts an instance with an environment built from scratch
 * ({@link Env}); the runtime speaks Lambda's Runtime API ({@link Routes}) to the address in
 * {@link Env#RUNTIME_API}, treated as an opaque {@code host:port[/prefix]}; besides Lambda's routes,
 * thaw's runtime uses a warm-up loop and a priming loop before its checkpoint. When the node asked
 * for a checkpoint, the runtime says so on a control line on stdout ({@link Control}), marked with
 * the instance's control token, blocks on stdin, and after the dump gets one resume line
 * ({@link Resume}) in the original and in every clone.
 */
public final class RuntimeProtocol {
    private RuntimeProtocol() {
    }

    /** Environment variables the node sets for every instance. Lambda's names where Lambda has one. */
    public static final class Env {
        private Env() {
        }

        /** {@code host:port[/prefix]} of the instance's Runtime API (Lambda's name). */
        public static final String RUNTIME_API = "AWS_LAMBDA_RUNTIME_API";
        /** The handler, {@code Class::method} or {@code Class} (Lambda's name). */
        public static final String HANDLER = "_HANDLER";
        public static final String FUNCTION_NAME = "AWS_LAMBDA_FUNCTION_NAME";
        public static final String FUNCTION_VERSION = "AWS_LAMBDA_FUNCTION_VERSION";
        public static final String FUNCTION_MEMORY_SIZE = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";
        /** Where the function's code is (Lambda's name). */
        public static final String TASK_ROOT = "LAMBDA_TASK_ROOT";
        /**
         * {@code snap-start} when the node will snapshot the instance after init, {@code on-demand}
         * otherwise (Lambda's name and values): a runtime that speaks SnapStart's {@code restore/next}
         * is snapshotted when it asks for it.
         */
        public static final String INITIALIZATION_TYPE = "AWS_LAMBDA_INITIALIZATION_TYPE";
        public static final String INIT_SNAP_START = "snap-start";
        public static final String INIT_ON_DEMAND = "on-demand";
        /** The function's class path, entries separated by {@code :}. */
        public static final String CLASSPATH = "THAW_CLASSPATH";
        /** {@code 1} when the node will checkpoint this instance after init. */
        public static final String CHECKPOINT = "THAW_CHECKPOINT";
        /** The token that marks the runtime's control lines on stdout. */
        public static final String CONTROL_TOKEN = "THAW_CONTROL_TOKEN";
        /** Milliseconds the afterRestore hooks may take together. */
        public static final String RESTORE_HOOK_BUDGET_MS = "THAW_RESTORE_HOOK_BUDGET_MS";
        /** How many priming invocations to run before the checkpoint (absent: none). */
        public static final String PRIME_ROUNDS = "THAW_PRIME_ROUNDS";
        /** No priming invocation starts once the earlier ones took this long together. */
        public static final String PRIME_BUDGET_MS = "THAW_PRIME_BUDGET_MS";
        /** The handler's method the runtime calls as its freshen hook (for handlers that do not implement the API's). */
        public static final String FRESHEN_METHOD = "THAW_FRESHEN_METHOD";
        /**
         * {@code http://host:port/prefix/thaw-node}: the node's invoke API as the instance's own code
         * reaches it ({@link Routes#NODE_API} on the instance's Runtime API listener), for the
         * functions its deployment may invoke.
         */
        public static final String NODE_URL = "THAW_NODE_URL";
    }

    /** Control lines, {@code <token> <message>} on stdout, each written whole in one write. */
    public static final class Control {
        private Control() {
        }

        /** The runtime closed its sockets and waits on stdin: dump it now. */
        public static final String CHECKPOINT_READY = "checkpoint-ready";
        /** {@code checkpoint-abort <why>}: no snapshot of this instance; it carries on serving. */
        public static final String CHECKPOINT_ABORT = "checkpoint-abort";
        /** Longest control line the runtime writes, so it never interleaves with other output. */
        public static final int MAX_LENGTH = 400;
    }

    /** The resume line: one JSON object on stdin after the dump, in the original and in every clone. */
    public static final class Resume {
        private Resume() {
        }

        /** {@code true} in a restored clone, {@code false} in the instance that was dumped. */
        public static final String RESTORED = "restored";
        /** The Runtime API address the runtime talks to from now on (a clone's own). */
        public static final String RUNTIME_API = "runtimeApi";
        /**
         * {@code true} in a pre-restored clone, which no invocation waits for: before asking for
         * work, rehearse the invocation loop (the warm-up exchange, and the function's priming event
         * when it has one), so its first invocation finds that code's memory touched rather than
         * faulting it in.
         */
        public static final String REHEARSE = "rehearse";
    }

    /** Routes under {@code <prefix>/2018-06-01/runtime/}. */
    public static final class Routes {
        private Routes() {
        }

        public static final String VERSION = "2018-06-01";
        /**
         * Under the prefix, beside {@link #BASE}: the node's invoke paths for the instance's own code,
         * {@code POST thaw-node/functions/<name>/invoke} and Lambda's
         * {@code POST thaw-node/2015-03-31/functions/<name>/invocations}, answered as the node's own
         * API answers them, for the functions the caller's deployment may invoke.
         */
        public static final String NODE_API = "/thaw-node";
        public static final String BASE = "/" + VERSION + "/runtime/";
        public static final String NEXT = "invocation/next";
        public static final String INIT_ERROR = "init/error";
        /** SnapStart's: blocks until the instance was snapshotted (and, in a clone, restored). */
        public static final String RESTORE_NEXT = "restore/next";
        public static final String RESTORE_ERROR = "restore/error";
        /** thaw's warm-up loop: answers like {@code invocation/next} and touches no invocation. */
        public static final String WARM_UP = "thaw-warmup";
        /** thaw's priming loop: hands out the function's priming event before its checkpoint. */
        public static final String PRIME = "thaw-prime";
        /**
         * thaw's expedited data transfers: {@code POST thaw-xdt/objects} puts the request body (with
         * {@code Content-Length} or chunked) and answers {@code 201} with the reference as a plain-text
         * body; {@code GET thaw-xdt/objects/<reference>} answers {@code 200} with the data, with a
         * {@code Content-Length}, or chunked with the {@link Headers#XDT_STATUS} trailer when the node
         * checks the bytes as they arrive from another node. Refusals answer 4xx or 5xx with
         * {@link Headers#XDT_REASON} and the message as a plain-text body. The runtime makes these
         * requests on connections of their own, never on the invocation loop's.
         */
        public static final String XDT = "thaw-xdt";
        /** Where puts go and references are read from, under {@link #BASE}. */
        public static final String XDT_OBJECTS = XDT + "/objects";

        /** @return {@code thaw-xdt/objects/<reference>} */
        public static String xdtObject(String reference) {
            return XDT_OBJECTS + "/" + reference;
        }

        /** @return {@code invocation/<id>/response} */
        public static String response(String requestId) {
            return "invocation/" + requestId + "/response";
        }

        /** @return {@code invocation/<id>/error} */
        public static String error(String requestId) {
            return "invocation/" + requestId + "/error";
        }
    }

    /** Headers of {@code next}'s answer and of error reports (Lambda's names). */
    public static final class Headers {
        private Headers() {
        }

        public static final String REQUEST_ID = "Lambda-Runtime-Aws-Request-Id";
        public static final String DEADLINE_MS = "Lambda-Runtime-Deadline-Ms";
        public static final String FUNCTION_ARN = "Lambda-Runtime-Invoked-Function-Arn";
        public static final String TRACE_ID = "Lambda-Runtime-Trace-Id";
        public static final String CLIENT_CONTEXT = "Lambda-Runtime-Client-Context";
        public static final String COGNITO_IDENTITY = "Lambda-Runtime-Cognito-Identity";
        public static final String ERROR_TYPE = "Lambda-Runtime-Function-Error-Type";
        /**
         * On a {@code next} answer: the invocation is a call of the function's freshen hook, not of its
         * handler, made before an invocation the platform predicts; the value says why. Its deadline
         * header is the hook's time limit: the runtime cuts the hook off there and answers.
         */
        public static final String FRESHEN = "Thaw-Freshen";
        /**
         * On a {@code next} answer to thaw's own runtime: no invocation; the node asks the instance for
         * the snapshot handshake again (the one after init), to replace the function's snapshot with
         * one of this instance, whose JIT has compiled what real invocations run. The value says why.
         * The runtime answers nothing for the request id; it asks for work again once resumed.
         */
        public static final String CHECKPOINT = "Thaw-Checkpoint";

        /** A put's read limit (decimal; default 1). */
        public static final String XDT_READS = "Thaw-Xdt-Reads";
        /** A put's time to live in milliseconds (decimal; default 300000). */
        public static final String XDT_TTL_MS = "Thaw-Xdt-Ttl-Ms";
        /** A put's readers: function names separated by commas (absent: any function). */
        public static final String XDT_READERS = "Thaw-Xdt-Readers";
        /** {@code true} for a durable put. */
        public static final String XDT_DURABLE = "Thaw-Xdt-Durable";
        /** On a refusal: the {@code XdtException.Reason} name. */
        public static final String XDT_REASON = "Thaw-Xdt-Reason";
        /**
         * Trailer of a chunked read: {@code ok} when every byte arrived and matched the reference's
         * SHA-256; otherwise {@code <REASON> <message>} (e.g. {@code CORRUPTED the data ...}).
         */
        public static final String XDT_STATUS = "Thaw-Xdt-Status";
        /** Trailer value of a read that arrived whole and verified. */
        public static final String XDT_STATUS_OK = "ok";
    }
}
