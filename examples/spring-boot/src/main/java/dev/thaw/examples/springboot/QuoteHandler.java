package dev.thaw.examples.springboot;

import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;
import org.crac.Context;
import org.crac.Core;
import org.crac.Resource;
import org.springframework.boot.SpringApplication;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The function: prices a quote with the Spring application's {@link QuoteService}.
 * Handler: {@code dev.thaw.examples.springboot.QuoteHandler::apply}.
 *
 * <p>Constructing the first handler starts the Spring context (seconds: Hibernate, H2, validation).
 * The runtime constructs the handler during init, so a snapshot taken after init holds a started
 * context and a restored instance answers at once.
 *
 * <p>Priming, as AWS recommends for SnapStart: a started context has not yet run a request, so
 * the first quote would still load and link the validation, JPA query and JSON code paths (about
 * 100 ms here). A {@code beforeCheckpoint} hook prices a few synthetic quotes, so that work is in
 * the snapshot instead of in every restored clone's first invocation. No caller's data is involved.
 */
public class QuoteHandler implements Function<QuoteRequest, Quote> {
    private static final int PRIMING_ROUNDS = 20;

    private final QuoteService service;
    /** Held strongly: org.crac keeps registered resources only weakly. */
    private final Resource priming = new Priming();

    /** Starts the Spring context if this class loader has not yet, and looks up the service. */
    public QuoteHandler() {
        this.service = Spring.CONTEXT.getBean(QuoteService.class);
        Core.getGlobalContext().register(priming);
    }

    /** Runs the request path on synthetic quotes before the checkpoint. */
    private final class Priming implements Resource {
        @Override
        public void beforeCheckpoint(Context<? extends Resource> context) {
            QuoteRequest sample = new QuoteRequest("priming", List.of(new QuoteLine("PEN-BLK", 1), new QuoteLine("ERASER", 2)));
            for (int i = 0; i < PRIMING_ROUNDS; i++) {
                apply(sample);
                try {
                    apply(new QuoteRequest("", List.of()));
                } catch (IllegalArgumentException expected) {
                    // the validation failure path is part of the request path too
                }
            }
        }

        @Override
        public void afterRestore(Context<? extends Resource> context) {
            // nothing to reopen: H2 is in memory and no connection leaves the process
        }
    }

    /**
     * Prices the request.
     *
     * @throws IllegalArgumentException if the request is invalid or names unknown SKUs
     */
    @Override
    public Quote apply(QuoteRequest request) {
        // Validation asks jakarta.persistence whether entities are loaded, and it finds its provider
        // through the context class loader too.
        return withOwnClassLoader(() -> service.quote(request));
    }

    /**
     * Runs an action with this JAR's class loader as the thread's context class loader. Spring,
     * Hibernate and jakarta.persistence look classes and resources up through it, and the runtime
     * loads the function in a class loader of its own.
     */
    private static <T> T withOwnClassLoader(Supplier<T> action) {
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(QuoteHandler.class.getClassLoader());
        try {
            return action.get();
        } finally {
            thread.setContextClassLoader(previous);
        }
    }

    /** Holds the one context per class loader; the JVM runs {@link #start} on the holder's first use. */
    private static final class Spring {

        static final ConfigurableApplicationContext CONTEXT = start();

        private static ConfigurableApplicationContext start() {
            return withOwnClassLoader(() -> SpringApplication.run(QuoteApplication.class));
        }
    }
}
