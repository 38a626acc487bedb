package dev.thaw.runtime;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;

/**
 * Loads a function's classes child-first, so a function's own libraries (its Jackson, its logging)
 * win over anything on the runtime's class path, except for the packages the function and the
 * runtime must share: thaw's API, Lambda's interfaces and {@code org.crac}, whose classes must be
 * the very ones the runtime adapts and notifies.
 */
final class FunctionClassLoader extends URLClassLoader {
    private static final String[] SHARED = {
        "java.", "javax.", "jdk.", "sun.", "com.sun.",
        "dev.thaw.api.", "dev.thaw.runtime.", "com.amazonaws.services.lambda.runtime.", "org.crac."
    };

    static {
        registerAsParallelCapable();
    }

    FunctionClassLoader(URL[] urls, ClassLoader parent) {
        super("thaw-function", urls, parent);
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
        if (isShared(name)) {
            return super.loadClass(name, resolve);
        }
        synchronized (getClassLoadingLock(name)) {
            Class<?> c = findLoadedClass(name);
            if (c == null) {
                try {
                    c = findClass(name);
                } catch (ClassNotFoundException e) {
                    c = getParent().loadClass(name);
                }
            }
            if (resolve) {
                resolveClass(c);
            }
            return c;
        }
    }

    @Override
    public URL getResource(String name) {
        URL own = findResource(name);
        return own != null ? own : super.getResource(name);
    }

    @Override
    public Enumeration<URL> getResources(String name) throws IOException {
        List<URL> all = new ArrayList<>(Collections.list(findResources(name)));
        Enumeration<URL> parents = getParent().getResources(name);
        while (parents.hasMoreElements()) {
            all.add(parents.nextElement());
        }
        return Collections.enumeration(all);
    }

    private static boolean isShared(String className) {
        for (String prefix : SHARED) {
            if (className.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }
}
