package dev.thaw.workloads;

import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.Polygon;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import javax.imageio.ImageIO;

/**
 * FunctionBench's image processing workload: rotate an image by 90 degrees, resize it and encode it
 * as PNG. Handler: {@code dev.thaw.workloads.ImageWorkload::handle}.
 *
 * <p>The source is a {@value #SOURCE_WIDTH}x{@value #SOURCE_HEIGHT} test card drawn once during init
 * (colour gradients, an XOR texture and filled shapes), so no image file is needed. Each invocation
 * rotates it clockwise (pixel by pixel), scales the result to {@code width x height} with bilinear
 * interpolation and encodes it with {@code javax.imageio}. Everything runs headless.
 */
public class ImageWorkload implements Handler<ImageWorkload.Input, ImageWorkload.Output> {

    static {
        // before any AWT class initializes: functions run without a display
        System.setProperty("java.awt.headless", "true");
    }

    /**
     * @param width width of the result, in pixels (1 to 4096)
     * @param height height of the result, in pixels (1 to 4096)
     */
    public record Input(int width, int height) {
    }

    /**
     * @param width width of the encoded image
     * @param height height of the encoded image
     * @param pngBytes size of the PNG
     * @param sha256 hex SHA-256 of the PNG
     */
    public record Output(int width, int height, int pngBytes, String sha256) {
    }

    /** The image and its encoding, for tests. */
    record Result(BufferedImage image, byte[] png) {
    }

    static final int SOURCE_WIDTH = 640;
    static final int SOURCE_HEIGHT = 480;
    static final int MAX_SIDE = 4096;

    private final BufferedImage source;

    /** Creates the handler; draws the source image and loads the PNG writer. */
    public ImageWorkload() {
        // encode in memory, never through a temporary cache file
        ImageIO.setUseCache(false);
        source = testCard(SOURCE_WIDTH, SOURCE_HEIGHT);
        process(new Input(32, 24)); // loads the scaling and PNG encoding paths during init
    }

    @Override
    public Output handle(Input input, InvocationContext context) {
        Inputs.required(input, "{\"width\":320,\"height\":240}");
        Result result = process(input);
        return new Output(result.image().getWidth(), result.image().getHeight(), result.png().length,
                Hashes.sha256Hex(result.png()));
    }

    final Result process(Input input) {
        int width = Inputs.inRange("width", input.width(), 1, MAX_SIDE);
        int height = Inputs.inRange("height", input.height(), 1, MAX_SIDE);
        BufferedImage resized = resize(rotateClockwise(source), width, height);
        return new Result(resized, png(resized));
    }

    BufferedImage source() {
        return source;
    }

    /** @return a deterministic test card of the given size */
    static BufferedImage testCard(int width, int height) {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int r = x * 255 / Math.max(1, width - 1);
                int g = y * 255 / Math.max(1, height - 1);
                int b = (x ^ y) & 0xFF;
                image.setRGB(x, y, (r << 16) | (g << 8) | b);
            }
        }
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(new Color(230, 40, 40));
            g.fillOval(width / 8, height / 8, width / 4, width / 4);
            g.setColor(new Color(30, 30, 200, 180));
            g.fillRect(width / 2, height / 5, width / 3, height / 3);
            g.setColor(Color.WHITE);
            g.setStroke(new BasicStroke(4f));
            g.drawLine(0, height - 1, width - 1, 0);
            g.setColor(new Color(250, 210, 0));
            g.fillPolygon(new Polygon(
                    new int[] {width / 4, width / 2, 3 * width / 8},
                    new int[] {7 * height / 8, 7 * height / 8, 5 * height / 8}, 3));
        } finally {
            g.dispose();
        }
        return image;
    }

    /** @return {@code image} turned 90 degrees clockwise: the top row becomes the right column */
    static BufferedImage rotateClockwise(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        int[] in = image.getRGB(0, 0, w, h, null, 0, w);
        int[] out = new int[in.length];
        // destination (dx, dy) shows source (dy, h - 1 - dx); the destination is h wide
        for (int dy = 0; dy < w; dy++) {
            for (int dx = 0; dx < h; dx++) {
                out[dy * h + dx] = in[(h - 1 - dx) * w + dy];
            }
        }
        BufferedImage rotated = new BufferedImage(h, w, BufferedImage.TYPE_INT_RGB);
        rotated.setRGB(0, 0, h, w, out, 0, h);
        return rotated;
    }

    /** @return {@code image} scaled to {@code width x height} with bilinear interpolation */
    static BufferedImage resize(BufferedImage image, int width, int height) {
        BufferedImage resized = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = resized.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
            g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
            g.drawImage(image, 0, 0, width, height, null);
        } finally {
            g.dispose();
        }
        return resized;
    }

    /** @return {@code image} encoded as PNG */
    static byte[] png(BufferedImage image) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(image, "png", out)) {
                throw new IllegalStateException("no PNG writer in this JDK");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("PNG encoding into memory failed", e);
        }
        return out.toByteArray();
    }
}
