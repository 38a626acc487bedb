package dev.thaw.runtime;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * Turns a handler name into a {@link FunctionInvoker}.
 *
 * <p>A handler is {@code Class::method} or just {@code Class}. Without a method, the class's shape
 * decides: {@link RequestStreamHandler} and {@link RequestHandler} ({@code handleRequest}), thaw's
 * {@link Handler} ({@code handle}), {@link Function} ({@code apply}), or the one public method the
 * class declares. A method may take {@code (event)}, {@code (event, context)}, {@code (InputStream,
 * OutputStream)} or {@code (InputStream, OutputStream, context)}; the event type is the method's
 * declared (generic) parameter type, so a {@code RequestHandler<Order, Receipt>} gets an
 * {@code Order}. Instantiating the class is the function's init: its constructor and static
 * initializers run here, once per instance, before any snapshot.
 */
final class HandlerLoader {
    private final ObjectMapper mapper;

    HandlerLoader(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    FunctionInvoker load(String handler, ClassLoader loader) throws InitException {
        String className = handler.contains("::") ? handler.substring(0, handler.indexOf("::")) : handler;
        String methodName = handler.contains("::") ? handler.substring(handler.indexOf("::") + 2) : null;
        Class<?> type = loadClass(className, loader);
        Method method = methodName == null ? defaultMethod(type) : namedMethod(type, methodName);
        Object target = Modifier.isStatic(method.getModifiers()) ? null : instantiate(type);
        method.setAccessible(true);
        linkReflectiveCall(target, method);
        // Readers and writers fetch their (de)serializers when created: doing it here, during init,
        // puts that work into the snapshot instead of into every clone's first invocation.
        ObjectReader reader = takesStreams(method) || method.getParameterCount() == 0 ? null : readerFor(method);
        ObjectWriter writer = takesStreams(method) || method.getReturnType() == void.class ? null : writerFor(method);
        FunctionInvoker call = adapterFor(target, method, reader, writer);
        java.util.Optional<FunctionInvoker.FreshenHook> hook = freshenHook(type, target,
                System.getenv(dev.thaw.protocol.RuntimeProtocol.Env.FRESHEN_METHOD));
        java.util.function.Supplier<java.util.Optional<FunctionInvoker.Conversions>> conversions =
                memoized(() -> conversionsFor(method, reader, writer));
        return new FunctionInvoker() {
            @Override
            public byte[] invoke(byte[] event, RuntimeContext context) throws Throwable {
                return call.invoke(event, context);
            }

            @Override
            public java.util.Optional<FreshenHook> freshen() {
                return hook;
            }

            @Override
            public java.util.Optional<Conversions> conversions() {
                return conversions.get();
            }
        };
    }

    /**
     * Makes the JDK build and link the handler method's reflective call now, during init, without calling
     * the method; otherwise every clone would spin its method-handle classes (bytecode generation, class
     * definition) on its first invocation, after its restore. An accessor is made on a method's first
     * {@code invoke}, which checks the number of arguments only after making it: a call with one argument
     * too many builds it and is refused. Its method handle's code is spun on its first run, which casts
     * every argument to its parameter's type before the method could be entered: a call whose arguments
     * are all of a class of the runtime's own is refused there, when some parameter is not an
     * {@code Object} (one that is would take the argument, so that call is not made).
     */
    private static void linkReflectiveCall(Object target, Method method) {
        int n = method.getParameterCount();
        try {
            method.invoke(target, new Object[n + 1]);
        } catch (IllegalArgumentException expected) {
            // "wrong number of arguments": the accessor exists now
        } catch (InvocationTargetException | IllegalAccessException | RuntimeException e) {
            return; // only an optimization: the first invocation makes the accessor as it always did
        }
        if (Arrays.stream(method.getParameterTypes()).allMatch(t -> t == Object.class)) {
            return;
        }
        Object[] mismatched = new Object[n];
        Arrays.fill(mismatched, NOT_AN_ARGUMENT);
        try {
            method.invoke(target, mismatched);
        } catch (IllegalArgumentException expected) {
            // "argument type mismatch": the call's code is spun and linked
        } catch (InvocationTargetException | IllegalAccessException | RuntimeException e) {
            // not reachable: no parameter takes the runtime's own marker
        }
    }

    /** An argument no handler parameter but an {@code Object} one accepts (see linkReflectiveCall). */
    private static final Object NOT_AN_ARGUMENT = new NotAnArgument();

    private static final class NotAnArgument {
    }

    private static <T> java.util.function.Supplier<T> memoized(java.util.function.Supplier<T> supplier) {
        return new java.util.function.Supplier<>() {
            private T value;

            @Override
            public synchronized T get() {
                if (value == null) {
                    value = supplier.get();
                }
                return value;
            }
        };
    }

    /** How many made-up events and results the warm-up cycles through (see EventSamples). */
    private static final int SAMPLE_VARIANTS = 6;
    /**
     * Events of two or three bytes ({@code {}}, {@code []}): Jackson's parser setup reads them by a branch
     * that longer ones never take, compiled as a trap that a clone's first such event springs. One exchange
     * in this many reads one; rarely enough that the full events shape what the compiler makes of the rest.
     */
    private static final int EMPTY_EVENT_EVERY = 16;
    private static final List<byte[]> EMPTY_EVENTS = List.of("{}".getBytes(java.nio.charset.StandardCharsets.US_ASCII),
            "[]".getBytes(java.nio.charset.StandardCharsets.US_ASCII));

    /**
     * The handler's conversions over made-up events and results that its own reader reads and whose
     * values its writer writes; a sample that does not read back is left out.
     */
    private java.util.Optional<FunctionInvoker.Conversions> conversionsFor(Method method, ObjectReader reader,
                                                                         ObjectWriter writer) {
        EventSamples samples = new EventSamples(mapper);
        List<byte[]> events = new java.util.ArrayList<>();
        if (reader != null) {
            for (var sample : samples.of(reader.getValueType(), SAMPLE_VARIANTS)) {
                byte[] bytes = sample.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
                if (readsBack(reader, bytes)) {
                    events.add(bytes);
                }
            }
        }
        byte[] empty = reader == null ? null
                : EMPTY_EVENTS.stream().filter(e -> readsBack(reader, e)).findFirst().orElse(null);
        List<Object> results = new java.util.ArrayList<>();
        if (writer != null) {
            JavaType resultType = mapper.constructType(method.getGenericReturnType());
            ObjectReader resultReader = mapper.readerFor(resultType);
            for (var sample : samples.of(resultType, SAMPLE_VARIANTS)) {
                try {
                    Object value = resultReader.readValue(sample);
                    for (Object shape : EventSamples.containerShapes(value, method.getReturnType())) {
                        writer.writeValueAsBytes(shape);
                        results.add(shape);
                    }
                } catch (java.io.IOException | RuntimeException e) {
                    // not a value this type can be made from: left out
                }
            }
        }
        if (events.isEmpty() && results.isEmpty()) {
            return java.util.Optional.empty();
        }
        String summary = events.size() + " made-up events" + (empty == null ? "" : " and an empty one")
                + (reader == null ? "" : " of " + reader.getValueType().toCanonical())
                + " and " + results.size() + " results" + (writer == null ? "" : " of " + method.getGenericReturnType().getTypeName());
        return java.util.Optional.of(new FunctionInvoker.Conversions() {
            @Override
            public byte[] exercise(int round) throws java.io.IOException {
                if (!events.isEmpty()) {
                    try {
                        readEvent(empty != null && round % EMPTY_EVENT_EVERY == EMPTY_EVENT_EVERY - 1 ? empty
                                : events.get(round % events.size()), reader);
                    } catch (EventFormatException e) {    // each event read back once already
                        throw new java.io.IOException(e.getMessage(), e);
                    }
                }
                return results.isEmpty() ? NULL_RESULT : writer.writeValueAsBytes(results.get(round % results.size()));
            }

            @Override
            public String summary() {
                return summary;
            }
        });
    }

    private static boolean readsBack(ObjectReader reader, byte[] event) {
        try {
            readEvent(event, reader);
            return true;
        } catch (EventFormatException | RuntimeException e) {
            return false;
        }
    }

    private static final byte[] NULL_RESULT = "null".getBytes(java.nio.charset.StandardCharsets.UTF_8);

    private ObjectReader readerFor(Method method) {
        return mapper.readerFor(mapper.constructType(method.getGenericParameterTypes()[0]));
    }

    private ObjectWriter writerFor(Method method) {
        return mapper.writerFor(mapper.constructType(method.getGenericReturnType()));
    }

    /**
     * The handler's freshen hook: {@link dev.thaw.api.Freshen} when the handler implements it, else the
     * public method the manifest names (no parameter, or one {@link dev.thaw.api.FreshenContext}).
     *
     * @throws InitException naming the method when the manifest names one the class does not have
     */
    static java.util.Optional<FunctionInvoker.FreshenHook> freshenHook(Class<?> type, Object target, String methodName)
            throws InitException {
        if (target instanceof dev.thaw.api.Freshen f) {
            return java.util.Optional.of(f::freshen);
        }
        if (methodName == null || methodName.isBlank()) {
            return java.util.Optional.empty();
        }
        for (Method m : type.getMethods()) {
            if (!m.getName().equals(methodName) || m.getParameterCount() > 1 || (m.getParameterCount() == 1
                    && m.getParameterTypes()[0] != dev.thaw.api.FreshenContext.class)) {
                continue;
            }
            if (target == null && !Modifier.isStatic(m.getModifiers())) {
                continue;
            }
            boolean withContext = m.getParameterCount() == 1;
            return java.util.Optional.of(ctx -> {
                try {
                    if (withContext) {
                        m.invoke(target, ctx);
                    } else {
                        m.invoke(target);
                    }
                } catch (InvocationTargetException e) {
                    throw e.getCause();
                }
            });
        }
        throw new InitException("Runtime.HandlerNotFound", "the freshen method '" + methodName + "' of handler class '"
                + type.getName() + "' is not a public method taking nothing or a dev.thaw.api.FreshenContext", null);
    }

    private static Class<?> loadClass(String className, ClassLoader loader) throws InitException {
        try {
            return Class.forName(className, false, loader);
        } catch (ClassNotFoundException | NoClassDefFoundError e) {
            throw new InitException("Runtime.HandlerNotFound",
                    "handler class '" + className + "' was not found in the function's code", e);
        }
    }

    private static Method defaultMethod(Class<?> type) throws InitException {
        String name;
        if (RequestStreamHandler.class.isAssignableFrom(type) || RequestHandler.class.isAssignableFrom(type)) {
            name = "handleRequest";
        } else if (Handler.class.isAssignableFrom(type)) {
            name = "handle";
        } else if (Function.class.isAssignableFrom(type)) {
            name = "apply";
        } else {
            List<Method> own = Arrays.stream(type.getDeclaredMethods())
                    .filter(m -> Modifier.isPublic(m.getModifiers()) && !m.isBridge() && !m.isSynthetic())
                    .toList();
            if (own.size() != 1) {
                throw new InitException("Runtime.HandlerNotFound", "handler class '" + type.getName()
                        + "' implements no known handler interface and declares " + own.size()
                        + " public methods: name one as " + type.getName() + "::method", null);
            }
            return own.get(0);
        }
        return namedMethod(type, name);
    }

    private static Method namedMethod(Class<?> type, String name) throws InitException {
        List<Method> candidates = Arrays.stream(type.getMethods())
                .filter(m -> m.getName().equals(name) && !m.isBridge() && !m.isSynthetic())
                .filter(m -> m.getDeclaringClass() != Object.class)
                .filter(HandlerLoader::hasSupportedParameters)
                .toList();
        if (candidates.isEmpty()) {
            throw new InitException("Runtime.HandlerNotFound", "handler method '" + name + "' was not found in class '"
                    + type.getName() + "' (expected a public method taking (event), (event, Context), "
                    + "(InputStream, OutputStream) or (InputStream, OutputStream, Context))", null);
        }
        if (candidates.size() > 1) {
            // Prefer the overload that receives the context: it is the most specific shape.
            List<Method> withContext = candidates.stream().filter(m -> m.getParameterCount() > 1).toList();
            if (withContext.size() == 1) {
                return withContext.get(0);
            }
            throw new InitException("Runtime.HandlerNotFound", "handler method '" + type.getName() + "::" + name
                    + "' is ambiguous: " + candidates.size() + " public overloads", null);
        }
        return candidates.get(0);
    }

    private static boolean hasSupportedParameters(Method m) {
        Class<?>[] p = m.getParameterTypes();
        return switch (p.length) {
            case 0 -> true;
            case 1 -> true;
            case 2 -> isContext(p[1]) || (p[0] == InputStream.class && p[1] == OutputStream.class);
            case 3 -> p[0] == InputStream.class && p[1] == OutputStream.class && isContext(p[2]);
            default -> false;
        };
    }

    private static boolean isContext(Class<?> c) {
        return c == Context.class || c == InvocationContext.class;
    }

    private static Object instantiate(Class<?> type) throws InitException {
        try {
            Constructor<?> constructor = type.getDeclaredConstructor();
            constructor.setAccessible(true);
            return constructor.newInstance();
        } catch (NoSuchMethodException e) {
            throw new InitException("Runtime.HandlerNotFound",
                    "handler class '" + type.getName() + "' has no no-argument constructor", e);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            throw new InitException(cause.getClass().getName(), String.valueOf(cause.getMessage()), cause);
        } catch (ExceptionInInitializerError e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            throw new InitException(cause.getClass().getName(), String.valueOf(cause.getMessage()), cause);
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new InitException(e.getClass().getName(), "cannot instantiate handler class '"
                    + type.getName() + "': " + e.getMessage(), e);
        }
    }

    private static boolean takesStreams(Method method) {
        Class<?>[] p = method.getParameterTypes();
        return p.length >= 2 && p[0] == InputStream.class && p[1] == OutputStream.class;
    }

    private FunctionInvoker adapterFor(Object target, Method method, ObjectReader reader, ObjectWriter writer) {
        Class<?>[] p = method.getParameterTypes();
        if (takesStreams(method)) {
            return (event, ctx) -> {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                Object[] args = p.length == 3
                        ? new Object[] {new ByteArrayInputStream(event), out, ctx}
                        : new Object[] {new ByteArrayInputStream(event), out};
                call(target, method, args);
                return out.toByteArray();
            };
        }
        boolean isVoid = method.getReturnType() == void.class;
        return (event, ctx) -> {
            Object[] args = switch (p.length) {
                case 0 -> new Object[0];
                case 1 -> new Object[] {readEvent(event, reader)};
                default -> new Object[] {readEvent(event, reader), ctx};
            };
            Object result = call(target, method, args);
            if (isVoid) {
                return NULL_RESULT;
            }
            return writer.writeValueAsBytes(result);
        };
    }

    private static Object readEvent(byte[] event, ObjectReader reader) throws EventFormatException {
        if (event.length == 0) {
            return null;
        }
        try {
            return reader.readValue(event);
        } catch (java.io.IOException e) {
            throw new EventFormatException("the event cannot be read as " + reader.getValueType().toCanonical() + ": "
                    + firstLine(e.getMessage()), e);
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private static Object call(Object target, Method method, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    /** The event does not fit the handler's declared input type. */
    static final class EventFormatException extends Exception {
        private static final long serialVersionUID = 1L;

        EventFormatException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
