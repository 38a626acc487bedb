package dev.thaw.node.function;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What a deploy needs of a class file (JVMS chapter 4): its name, superclass, interfaces and
 * methods (name, descriptor, access flags). Fields and attributes are skipped, the constant pool is
 * read only for the names it holds. Class files of any version parse as long as the constant pool
 * holds no tag this reader does not know; a file that does not parse yields nothing, and the caller
 * accepts what it cannot read.
 *
 * @param name internal name, e.g. {@code com/example/Hello}
 * @param superName internal name of the superclass, empty for {@code java/lang/Object} itself
 * @param interfaces internal names of the directly implemented interfaces
 * @param access the class's access flags
 * @param methods the declared methods, constructors and static initializer included
 */
record ClassFile(String name, Optional<String> superName, List<String> interfaces, int access, List<Method> methods) {
    static final int ACC_PUBLIC = 0x0001;
    static final int ACC_STATIC = 0x0008;
    static final int ACC_BRIDGE = 0x0040;
    static final int ACC_INTERFACE = 0x0200;
    static final int ACC_ABSTRACT = 0x0400;
    static final int ACC_SYNTHETIC = 0x1000;

    /**
     * A declared method.
     *
     * @param access access flags
     * @param name its name ({@code <init>} for constructors)
     * @param descriptor its descriptor, e.g. {@code (Ljava/lang/String;)V}
     */
    record Method(int access, String name, String descriptor) {
        boolean isPublic() {
            return (access & ACC_PUBLIC) != 0;
        }

        boolean isStatic() {
            return (access & ACC_STATIC) != 0;
        }

        /** @return whether the compiler made it (bridge or synthetic): reflection's {@code getMethods} users skip these */
        boolean isGenerated() {
            return (access & (ACC_BRIDGE | ACC_SYNTHETIC)) != 0;
        }

        /** @return a constructor or static initializer */
        boolean isInitializer() {
            return name.startsWith("<");
        }

        /** @return the parameter types as descriptors, e.g. {@code [Ljava/lang/String;, I} */
        List<String> parameters() {
            List<String> out = new ArrayList<>();
            int i = 1; // after '('
            while (i < descriptor.length() && descriptor.charAt(i) != ')') {
                int start = i;
                while (descriptor.charAt(i) == '[') {
                    i++;
                }
                i = descriptor.charAt(i) == 'L' ? descriptor.indexOf(';', i) + 1 : i + 1;
                out.add(descriptor.substring(start, i));
            }
            return out;
        }
    }

    boolean isInterface() {
        return (access & ACC_INTERFACE) != 0;
    }

    /** @return the class file's content, or empty when the bytes are not a class file this reader understands */
    static Optional<ClassFile> parse(byte[] bytes) {
        try {
            return Optional.of(read(new DataInputStream(new ByteArrayInputStream(bytes))));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static ClassFile read(DataInputStream in) throws IOException {
        if (in.readInt() != 0xCAFEBABE) {
            throw new IOException("not a class file");
        }
        in.readUnsignedShort(); // minor version
        in.readUnsignedShort(); // major version
        int count = in.readUnsignedShort();
        String[] utf8 = new String[count];
        int[] classNameIndex = new int[count];
        for (int i = 1; i < count; i++) {
            int tag = in.readUnsignedByte();
            switch (tag) {
                case 1 -> utf8[i] = in.readUTF(); // modified UTF-8, as DataInput reads it
                case 7 -> classNameIndex[i] = in.readUnsignedShort(); // Class
                case 8, 16, 19, 20 -> in.skipNBytes(2); // String, MethodType, Module, Package
                case 3, 4, 9, 10, 11, 12, 17, 18 -> in.skipNBytes(4); // Integer, Float, refs, NameAndType, (Invoke)Dynamic
                case 15 -> in.skipNBytes(3); // MethodHandle
                case 5, 6 -> { // Long, Double: two entries
                    in.skipNBytes(8);
                    i++;
                }
                default -> throw new IOException("unknown constant pool tag " + tag);
            }
        }
        int access = in.readUnsignedShort();
        String name = className(utf8, classNameIndex, in.readUnsignedShort());
        int superIndex = in.readUnsignedShort();
        Optional<String> superName = superIndex == 0 ? Optional.empty() : Optional.of(className(utf8, classNameIndex, superIndex));
        int interfaceCount = in.readUnsignedShort();
        List<String> interfaces = new ArrayList<>(interfaceCount);
        for (int i = 0; i < interfaceCount; i++) {
            interfaces.add(className(utf8, classNameIndex, in.readUnsignedShort()));
        }
        int fields = in.readUnsignedShort();
        for (int i = 0; i < fields; i++) {
            in.skipNBytes(6); // access, name, descriptor
            skipAttributes(in);
        }
        int methodCount = in.readUnsignedShort();
        List<Method> methods = new ArrayList<>(methodCount);
        for (int i = 0; i < methodCount; i++) {
            int flags = in.readUnsignedShort();
            String methodName = utf8(utf8, in.readUnsignedShort());
            String descriptor = utf8(utf8, in.readUnsignedShort());
            methods.add(new Method(flags, methodName, descriptor));
            skipAttributes(in);
        }
        return new ClassFile(name, superName, List.copyOf(interfaces), access, List.copyOf(methods));
    }

    private static void skipAttributes(DataInputStream in) throws IOException {
        int attributes = in.readUnsignedShort();
        for (int a = 0; a < attributes; a++) {
            in.skipNBytes(2);
            in.skipNBytes(in.readInt() & 0xFFFFFFFFL);
        }
    }

    private static String className(String[] utf8, int[] classNameIndex, int index) throws IOException {
        if (index <= 0 || index >= classNameIndex.length || classNameIndex[index] == 0) {
            throw new IOException("constant " + index + " is not a class");
        }
        return utf8(utf8, classNameIndex[index]);
    }

    private static String utf8(String[] utf8, int index) throws IOException {
        if (index <= 0 || index >= utf8.length || utf8[index] == null) {
            throw new IOException("constant " + index + " is not a UTF-8 string");
        }
        return utf8[index];
    }
}
