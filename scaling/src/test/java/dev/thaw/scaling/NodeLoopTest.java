package dev.thaw.scaling;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The policies driven together the way the README describes a node driving them: a chain A to B
 * declared, a burst on A at zero, a tick every 2 s, freshen of B on predictions, pre-restored clones
 * of B. The "node" here is a few counters; instances become ready at the next tick.
 */
class NodeLoopTest {
    private final FakeTicker ticker = new FakeTicker();

    /** One function's side of the node: its autoscaler, its buffer and its instances. */
    private final class Function {
        final String name;
        final Autoscaler scaler;
        final RequestBuffer<String> buffer;
        int ready;
        int desired;
        final List<Duration> clones = new ArrayList<>();

        Function(String name, int bufferCapacity) {
            this.name = name;
            this.scaler = Autoscaler.create(ScalingSettings.builder().maxInstances(20).build(), ticker);
            this.buffer = RequestBuffer.create(name, bufferCapacity, ticker);
        }

        /** A request arrives: buffered (instances are busy or coming) or refused. */
        Admission arrive(String request) {
            Admission admission = buffer.offer(request);
            if (admission.admitted() && scaler.requestStarted()) {
                apply(scaler.decide(ready)); // the first request after zero: decide now, not at the tick
            }
            return admission;
        }

        /** Instances take what the buffer holds; each request then ends. */
        void serve() {
            for (int i = 0; i < ready; i++) {
                if (buffer.poll().isEmpty()) {
                    break;
                }
                scaler.requestEnded();
            }
        }

        void apply(ScaleDecision d) {
            desired = d.desiredInstances();
        }

        /** Every tick: instances asked for at the last tick are ready now. */
        ScaleDecision tick() {
            ready = desired;
            ScaleDecision d = scaler.decide(ready);
            apply(d);
            return d;
        }
    }

    @Test
    void aBurstAtZeroAChainAndItsPredictions() {
        ChainPredictor chains = ChainPredictor.create(ChainSettings.defaults(), ticker);
        FreshenLimiter freshen = FreshenLimiter.create(FreshenLimits.defaults(), ticker);
        PrewarmPolicy prewarm = PrewarmPolicy.defaults();
        Function a = new Function("A", 25);
        Function b = new Function("B", 100);
        chains.declare("A", List.of("B"));

        // 30 requests reach A at zero: the first wakes it, 25 wait, 5 are refused naming the bound.
        List<Admission> admissions = new ArrayList<>();
        int freshened = 0;
        for (int i = 0; i < 30; i++) {
            admissions.add(a.arrive("a" + i));
            for (Prediction p : chains.invoked("A")) {
                if (freshen.tryAcquire(p.to()) instanceof FreshenPermit.Granted granted) {
                    freshened++;
                    freshen.recordTime(p.to(), granted.timeLimit().dividedBy(10));
                }
            }
        }
        assertThat(a.desired).as("decided at once on the first request").isEqualTo(1);
        assertThat(admissions.stream().filter(Admission::admitted)).hasSize(25);
        assertThat(((Admission.Refused) admissions.getLast()).reason())
                .isEqualTo("function 'A' has 25 requests waiting for instances (the limit); retry later or raise its request buffer capacity");
        assertThat(freshened).as("freshen of B is limited to 10 a minute").isEqualTo(10);
        assertThat(freshen.usage("B")).isEqualTo(new FreshenUsage(10, 20, Duration.ofSeconds(1), 0));

        // B's clones: 30 predictions pending, none of B's instances idle, room for all 20.
        PrewarmPlan plan = prewarm.plan(new PrewarmInputs(0, b.desired, b.ready, 0, chains.pending("B"), 20, b.clones));
        assertThat(plan.start()).isEqualTo(20);

        // The next tick sees the burst in the panic window: 25 in flight for 2 s, one instance ready.
        ticker.advance(a.scaler.settings().tickInterval());
        ScaleDecision burst = a.tick();
        assertThat(burst.panicking()).isTrue();
        assertThat(burst.desiredInstances()).isEqualTo(20); // wants 25, capped at maxInstances
        a.serve();
        assertThat(a.buffer.size()).isEqualTo(24);
        ticker.advance(a.scaler.settings().tickInterval());
        a.tick();
        a.serve();
        assertThat(a.buffer.size()).isEqualTo(4);

        // B never came: every prediction of it is wasted once the window has passed.
        assertThat(chains.outcomes()).containsExactly(new ChainOutcome("A", "B", 30, 0, 30, 0, 0));
        assertThat(chains.pending("B")).isZero();
    }
}
