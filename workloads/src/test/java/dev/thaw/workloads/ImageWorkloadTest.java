package dev.thaw.workloads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.GraphicsEnvironment;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class ImageWorkloadTest {

    private final ImageWorkload handler = new ImageWorkload();

    @Test
    void runsHeadless() {
        assertThat(System.getProperty("java.awt.headless")).isEqualTo("true");
        assertThat(GraphicsEnvironment.isHeadless()).isTrue();
    }

    @Test
    void encodesAPngOfTheRequestedSize() throws Exception {
        ImageWorkload.Output out = handler.handle(new ImageWorkload.Input(160, 90), null);
        ImageWorkload.Result result = handler.process(new ImageWorkload.Input(160, 90));

        assertThat(out.width()).isEqualTo(160);
        assertThat(out.height()).isEqualTo(90);
        assertThat(out.pngBytes()).isEqualTo(result.png().length);
        assertThat(out.sha256()).isEqualTo(Sha.hex(result.png()));
        assertThat(result.png()).startsWith(0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n');

        BufferedImage decoded = ImageIO.read(new ByteArrayInputStream(result.png()));
        assertThat(decoded.getWidth()).isEqualTo(160);
        assertThat(decoded.getHeight()).isEqualTo(90);
        for (int y = 0; y < 90; y++) {
            for (int x = 0; x < 160; x++) {
                assertThat(decoded.getRGB(x, y)).as("pixel %d,%d", x, y).isEqualTo(result.image().getRGB(x, y));
            }
        }
    }

    @Test
    void rotatesClockwise() {
        BufferedImage source = handler.source();
        int w = source.getWidth();
        int h = source.getHeight();
        // at the rotated size, the scaling step is an exact copy
        BufferedImage rotated = handler.process(new ImageWorkload.Input(h, w)).image();

        assertThat(rotated.getWidth()).isEqualTo(h);
        assertThat(rotated.getHeight()).isEqualTo(w);
        // clockwise: the source's bottom-left corner goes to the top-left, its top-left to the top-right
        assertThat(rotated.getRGB(0, 0)).isEqualTo(source.getRGB(0, h - 1));
        assertThat(rotated.getRGB(h - 1, 0)).isEqualTo(source.getRGB(0, 0));
        assertThat(rotated.getRGB(h - 1, w - 1)).isEqualTo(source.getRGB(w - 1, 0));
        for (int y = 0; y < w; y += 7) {
            for (int x = 0; x < h; x += 5) {
                assertThat(rotated.getRGB(x, y)).isEqualTo(source.getRGB(y, h - 1 - x));
            }
        }
    }

    @Test
    void sourceHasGradientsAndShapes() {
        BufferedImage source = handler.source();
        assertThat(source.getWidth()).isEqualTo(ImageWorkload.SOURCE_WIDTH);
        assertThat(source.getHeight()).isEqualTo(ImageWorkload.SOURCE_HEIGHT);
        // an untouched corner: full red and green gradients, the XOR texture in blue
        assertThat(source.getRGB(ImageWorkload.SOURCE_WIDTH - 1, ImageWorkload.SOURCE_HEIGHT - 1) & 0xFFFFFF)
                .isEqualTo(0xFFFF00 | ((639 ^ 479) & 0xFF));
        // inside the red disc
        int cx = ImageWorkload.SOURCE_WIDTH / 8 + ImageWorkload.SOURCE_WIDTH / 8;
        int cy = ImageWorkload.SOURCE_HEIGHT / 8 + ImageWorkload.SOURCE_WIDTH / 8;
        assertThat(source.getRGB(cx, cy) & 0xFFFFFF).isEqualTo(0xE62828);
    }

    @Test
    void isReproducible() {
        ImageWorkload.Output first = handler.handle(new ImageWorkload.Input(64, 48), null);
        assertThat(new ImageWorkload().handle(new ImageWorkload.Input(64, 48), null)).isEqualTo(first);
        assertThat(handler.handle(new ImageWorkload.Input(48, 64), null).sha256()).isNotEqualTo(first.sha256());
    }

    @Test
    void rejectsBadInput() {
        assertThatThrownBy(() -> handler.handle(null, null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> handler.handle(new ImageWorkload.Input(0, 10), null)).hasMessageContaining("width");
        assertThatThrownBy(() -> handler.handle(new ImageWorkload.Input(10, 5000), null)).hasMessageContaining("height");
    }
}
