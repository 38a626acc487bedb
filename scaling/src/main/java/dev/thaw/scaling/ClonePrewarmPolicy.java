package dev.thaw.scaling;

import static dev.thaw.scaling.Checks.seconds;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/** {@link PrewarmPolicy}: the steps are described there. */
final class ClonePrewarmPolicy implements PrewarmPolicy {
    private final Duration maxCloneWait;

    ClonePrewarmPolicy(Duration maxCloneWait) {
        this.maxCloneWait = maxCloneWait;
    }

    @Override
    public Duration maxCloneWait() {
        return maxCloneWait;
    }

    @Override
    public PrewarmPlan plan(PrewarmInputs in) {
        Objects.requireNonNull(in, "inputs");
        List<Duration> waits = in.cloneWaits();
        List<Integer> retire = new ArrayList<>();
        List<Integer> usable = new ArrayList<>();
        for (int i = 0; i < waits.size(); i++) {
            (waits.get(i).compareTo(maxCloneWait) > 0 ? retire : usable).add(i);
        }
        retire.sort(Comparator.comparing(waits::get, Comparator.reverseOrder()));
        int expired = retire.size();
        usable.sort(Comparator.comparing(waits::get)); // freshest first

        int gap = Math.max(0, in.desiredInstances() - in.instances());
        int promoteCount = Math.min(gap, usable.size());
        List<Integer> promote = new ArrayList<>(usable.subList(0, promoteCount));
        List<Integer> kept = new ArrayList<>(usable.subList(promoteCount, usable.size()));

        int instancesAfter = in.instances() + promoteCount;
        int room = Math.max(0, in.maxInstances() - Math.max(in.desiredInstances(), instancesAfter));
        int uncovered = Math.max(0, in.predicted() - in.idleInstances());
        int wanted = Math.max(in.prewarm(), uncovered);
        int target = Math.min(wanted, room);

        for (int surplus = kept.size() - target; surplus > 0; surplus--) {
            retire.add(kept.removeLast()); // the oldest kept
        }
        int start = Math.max(0, target - kept.size());

        StringBuilder reason = new StringBuilder();
        reason.append("prewarm ").append(in.prewarm());
        if (in.predicted() > 0) {
            reason.append(", ").append(in.predicted()).append(" predicted of which ").append(uncovered)
                    .append(" beyond idle instances");
        }
        if (target < wanted) {
            reason.append(", room for ").append(room).append(" under maxInstances ").append(in.maxInstances());
        }
        reason.append(": keep ").append(target);
        if (promoteCount > 0) {
            reason.append("; promote ").append(promoteCount).append(" (autoscaler wants ").append(gap).append(" more)");
        }
        if (expired > 0) {
            reason.append("; retire ").append(expired).append(" that waited over ").append(seconds(maxCloneWait));
        }
        if (retire.size() > expired) {
            reason.append("; retire ").append(retire.size() - expired).append(" beyond the target");
        }
        if (start > 0) {
            reason.append("; start ").append(start);
        }
        return new PrewarmPlan(target, promote, retire, start, reason.toString());
    }

    @Override
    public String toString() {
        return "PrewarmPolicy[maxCloneWait=" + seconds(maxCloneWait) + "]";
    }
}
