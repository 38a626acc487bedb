package dev.thaw.examples.springboot;

import java.util.function.Function;
import java.util.function.Supplier;
import org.springframework.boot.SpringApplication;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The function: prices a quote with the Spring application's {@link QuoteService}.
 * Handler: {@code dev.thaw.examples.springboot.QuoteHandler::apply}.
 *
 * <p>Constructing the first handler starts the Spring context (seconds: Hibernate, H2, validation).
 * The runtime constructs the handler during init, so a snapshot taken after init holds a started
 * context and a restored instance answers at once.
 */
public class QuoteHandler implements Function<QuoteRequest, Quote> {

    private final QuoteService service;

    /** Starts the Spring context if this class loader has not yet, and looks up the service. */
    public QuoteHandler() {
        this.service = Spring.CONTEXT.getBean(QuoteService.class);
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
