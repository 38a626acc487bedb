package dev.thaw.cluster;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/** The {@link Membership} facade: writes go through the session, reads and events come from the view. */
final class EtcdMembership implements Membership {
    private final Session session;
    private final View view;

    EtcdMembership(Session session, View view) {
        this.session = session;
        this.view = view;
    }

    @Override
    public void join(Member self) {
        Checks.notNull("member", self);
        session.join(self);
    }

    @Override
    public void update(UnaryOperator<Member> change) {
        Checks.notNull("change", change);
        session.update(change);
    }

    @Override
    public void updateNow(UnaryOperator<Member> change) {
        Checks.notNull("change", change);
        session.updateNow(change);
    }

    @Override
    public void leave() {
        session.leave();
    }

    @Override
    public Optional<Member> self() {
        return session.self();
    }

    @Override
    public List<Member> members() {
        return List.copyOf(view.members.values());
    }

    @Override
    public Optional<Member> member(String id) {
        return Optional.ofNullable(view.members.get(id));
    }

    @Override
    public Subscription subscribe(Consumer<MemberEvent> listener) {
        return view.subscribe(view.memberListeners, listener, () -> {
            List<MemberEvent> replay = new ArrayList<>();
            view.members.values().forEach(m -> replay.add(new MemberEvent.Joined(m)));
            return replay;
        });
    }
}
