package dev.thaw.examples.springboot;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * The Spring Boot application behind {@link QuoteHandler}. Its {@link #main} runs it standalone
 * ({@code java -jar thaw-examples-spring-boot.jar}): it starts, seeds the catalog, logs one line and exits.
 */
@SpringBootApplication
public class QuoteApplication {

    /** Creates the configuration class; Spring calls this. */
    public QuoteApplication() {
    }

    /**
     * Starts the application standalone.
     *
     * @param args Spring Boot command-line arguments
     */
    public static void main(String[] args) {
        SpringApplication.run(QuoteApplication.class, args).close();
    }
}
