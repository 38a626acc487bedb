package dev.thaw.node;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * The node's credentials, created on its first start in its data directory, readable by the owner
 * only, never logged: the API token ({@code api-token}) and an AWS access key pair in AWS's
 * shared-credentials format ({@code aws-credentials}, profile {@code thaw}), which a user points the
 * AWS CLI or SDK at ({@code AWS_SHARED_CREDENTIALS_FILE}, {@code --profile thaw}). The operator may
 * add further key pairs to that file; the node reads it again when it changes.
 */
final class Secrets {
    private static final SecureRandom RANDOM = new SecureRandom();

    private Secrets() {
    }

    /**
     * @return the secret file the operator gave, checked: it exists, is a regular file and only its
     *     owner may read it (a secret others can read is refused, naming the file)
     * @throws IllegalArgumentException naming the file and what is wrong
     */
    static Path given(Path file, String what) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(what + " file " + file + " does not exist or is not a regular file");
        }
        try {
            var perms = Files.getPosixFilePermissions(file);
            if (perms.contains(java.nio.file.attribute.PosixFilePermission.GROUP_READ)
                    || perms.contains(java.nio.file.attribute.PosixFilePermission.OTHERS_READ)) {
                throw new IllegalArgumentException(what + " file " + file + " is readable by others ("
                        + PosixFilePermissions.toString(perms) + "): chmod 600 it");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot check " + file + ": " + e.getMessage(), e);
        }
        return file;
    }

    /** @return the API token: from the given file, else the data directory's, created on first call */
    static String apiToken(Path dataDir, java.util.Optional<Path> given) {
        if (given.isPresent()) {
            String token = read(given(given.get(), "API token")).strip();
            if (token.length() < 16) {
                throw new IllegalArgumentException("API token file " + given.get() + " holds fewer than 16 characters");
            }
            return token;
        }
        return apiToken(dataDir);
    }

    /** @return the AWS credentials file: the given one, else the data directory's, created on first call */
    static Path awsCredentials(Path dataDir, java.util.Optional<Path> given) {
        return given.isPresent() ? given(given.get(), "AWS credentials") : awsCredentials(dataDir);
    }

    /** @return the API token, created on first call */
    static String apiToken(Path dataDir) {
        Path file = dataDir.resolve("api-token");
        createOnce(file, () -> random(32) + "\n");
        return read(file).strip();
    }

    /** @return the AWS shared-credentials file, created with one key pair on first call */
    static Path awsCredentials(Path dataDir) {
        Path file = dataDir.resolve("aws-credentials");
        createOnce(file, () -> "[thaw]\naws_access_key_id = AKTHAW" + randomUpper(14) + "\naws_secret_access_key = "
                + random(30) + "\n");
        return file;
    }

    private static void createOnce(Path file, java.util.function.Supplier<String> content) {
        if (Files.exists(file)) {
            return;
        }
        try {
            Path tmp = Files.createTempFile(file.getParent(), "." + file.getFileName(), ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(tmp, content.get(), StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + file + ": " + e.getMessage(), e);
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static String random(int bytes) {
        byte[] b = new byte[bytes];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    private static String randomUpper(int chars) {
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < chars; i++) {
            s.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
        }
        return s.toString();
    }
}
