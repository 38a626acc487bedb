package dev.thaw.client;

import java.net.http.HttpRequest;
import java.nio.ByteBuffer;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicLong;

/** A request body that reports how many of its bytes the HTTP client has taken, as it takes them. */
final class CountingPublisher implements HttpRequest.BodyPublisher {
    private final HttpRequest.BodyPublisher body;
    private final long total;
    private final UploadProgress progress;

    /** @param body the body, of a known length (the JDK hands it over in buffers of a few KiB) */
    CountingPublisher(byte[] body, UploadProgress progress) {
        this.body = HttpRequest.BodyPublishers.ofByteArray(body);
        this.total = body.length;
        this.progress = progress;
    }

    @Override
    public long contentLength() {
        return total;
    }

    @Override
    public void subscribe(Flow.Subscriber<? super ByteBuffer> subscriber) {
        AtomicLong sent = new AtomicLong(); // per subscription: a retried request counts from zero again
        body.subscribe(new Flow.Subscriber<>() {
            @Override
            public void onSubscribe(Flow.Subscription subscription) {
                subscriber.onSubscribe(subscription);
            }

            @Override
            public void onNext(ByteBuffer item) {
                int n = item.remaining();
                subscriber.onNext(item);
                progress.sent(sent.addAndGet(n), total);
            }

            @Override
            public void onError(Throwable throwable) {
                subscriber.onError(throwable);
            }

            @Override
            public void onComplete() {
                subscriber.onComplete();
            }
        });
    }
}
