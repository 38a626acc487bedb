package dev.thaw.core;

/**
 * The body of {@code PUT /functions/{name}}: the manifest and the code, base64-encoded as in AWS
 * Lambda's CreateFunction ({@code Code.ZipFile}). Jackson maps {@code byte[]} to base64 itself.
 *
 * @param manifest what the function is
 * @param code the JAR (or, for {@code runtime = "provided"}, a zip holding {@code bootstrap})
 */
public record DeployRequest(FunctionManifest manifest, byte[] code) {

    /** Never prints the code or environment values. */
    @Override
    public String toString() {
        return "DeployRequest[" + manifest + ", code=" + (code == null ? 0 : code.length) + " bytes]";
    }
}
