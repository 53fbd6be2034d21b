#include "tests/sim/cluster_sim.hh"

#include <algorithm>
#include <cstdio>
#include <tuple>

#include <fmt/format.h>

#include "detector/heartbeat_interval.hh"
#include "tests/sim/hash.hh"
#include "views/view_ops.hh"
#include "wire/codec.hh"

namespace roster::sim {

namespace {

constexpr std::uint64_t generation_mask = 0xffffffffULL;

std::uint64_t view_digest(const views::view& v) {
    std::uint64_t h = mix(v.id.value(), v.members.size());
    for (const auto& m : v.members) {
        h = mix(h, m.id.value());
        h = mix(h, m.incarnation.value());
        h = hash_bytes(bytes_view(reinterpret_cast<const std::uint8_t*>(m.name.data()), m.name.size()), h);
    }
    return mix(mix(h, v.leader.value()), v.fencing_token.value());
}

} // namespace

cluster_sim::cluster_sim(const cluster_options& options)
    : _options(options)
    , _random(options.seed) {
    const std::size_t endpoints = options.voters + options.members + options.clients;
    _net = std::make_unique<sim_network<sim_msg>>(
        endpoints, _events, _random.fork(),
        [this](std::size_t from, std::size_t to, sim_msg m) { deliver(from, to, std::move(m)); });
    _net->set_all_profiles(options.links);
    _subscribers_of.resize(endpoints);

    std::vector<voter_id> ids;
    for (std::size_t v = 0; v < options.voters; ++v) {
        ids.emplace_back(static_cast<std::uint32_t>(v + 1));
    }
    _voters.resize(options.voters);
    for (std::size_t v = 0; v < options.voters; ++v) {
        auto& slot = _voters[v];
        auto& c = slot.config;
        c.name = "v" + std::to_string(v + 1);
        c.id = ids[v];
        c.voters = ids;
        for (std::size_t w = 0; w < options.voters; ++w) {
            c.listen_of[ids[w]] = "v" + std::to_string(w + 1) + ":7400";
        }
        c.address = c.listen_of[ids[v]];
        c.publish_endpoint = "v" + std::to_string(v + 1) + ":7402";
        c.raft_tick = options.voter_tick;
        c.raft.election_ticks = 10;
        c.raft.heartbeat_ticks = 2;
        if (options.adaptive_election_timeout) {
            c.raft.max_election_ticks = std::max(c.raft.election_ticks, static_cast<int>(2s / options.voter_tick));
            c.raft.silence_period_ticks = std::max(1, static_cast<int>(1s / options.voter_tick));
        }
        c.heartbeat_interval =
            options.heartbeat_levels.empty() ? options.heartbeat : options.heartbeat_levels.front().interval;
        c.heartbeat_levels = options.heartbeat_levels;
        c.detector.detector = detector::phi_accrual_config::for_heartbeat_interval(c.heartbeat_interval);
        c.compact_every = options.compact_every;
        c.shared_evidence = options.shared_evidence;
        c.local_health.enabled = options.local_health;
        c.batching.max_command_bytes = options.max_command_bytes;
        c.publisher_ring = 64;
        c.incarnation = incarnation_number(1);
        slot.node =
            std::make_unique<node::voter_node>(c, _random.fork(), consensus::persisted_state{}, now());
        schedule_voter_tick(v);
    }
    _members.resize(options.members);
    for (std::size_t m = 0; m < options.members; ++m) {
        auto& slot = _members[m];
        auto& c = slot.config;
        c.name = member_name(m);
        c.address = c.name + ":7400";
        c.publish_endpoint = c.name + ":7402";
        c.voters = options.voters;
        c.heartbeat_interval = options.heartbeat;
        c.heartbeat_levels = options.heartbeat_levels;
        c.incarnation = incarnation_number(1);
        c.sync_timeout = 500ms;
        c.poll_interval = 1s;
        c.publisher_ring = 64;
        slot.node = std::make_unique<node::member_node>(c, now());
        for (std::size_t v = 0; v < options.voters; ++v) {
            _subscribers_of[voter_endpoint(v)].push_back(member_endpoint(m));
        }
        schedule_member_tick(m);
    }
    _clients.resize(options.clients);
    for (std::size_t c = 0; c < options.clients; ++c) {
        auto& cl = _clients[c];
        if (c % 2 == 0 || options.members == 0) {
            for (std::size_t v = 0; v < options.voters; ++v) {
                cl.nodes.push_back(voter_endpoint(v));
            }
        } else {
            cl.nodes.push_back(member_endpoint((c * 7) % options.members));
        }
        for (std::size_t n : cl.nodes) {
            _subscribers_of[n].push_back(client_endpoint(c));
        }
        cl.generation = 1;
        cl.sub =
            std::make_unique<views::view_subscriber>(views::subscriber_config{cl.nodes.size(), 500ms, 1s});
        cl.sub->start(now());
        drive_client(c);
        schedule_client_tick(c);
    }
}

cluster_sim::~cluster_sim() = default;

void cluster_sim::fail(std::string what) {
    if (!_violation) {
        _violation = fmt::format("t={:.3f}s: {}", to_ms(now().time_since_epoch()) / 1000.0, what);
    }
}

void cluster_sim::trace(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
    _trace =
        mix(mix(mix(mix(_trace, static_cast<std::uint64_t>(now().time_since_epoch().count())), a), b), c);
    ++_event_count;
}

bool cluster_sim::run_for(duration d) {
    const mono_time end = now() + d;
    while (!_violation && !_events.empty() && _events.next_time() <= end) {
        _events.run_next();
    }
    if (!_violation) {
        _events.advance_to(end);
    }
    return !_violation;
}

std::uint64_t cluster_sim::route_of(std::size_t endpoint) const {
    std::uint64_t gen = 0;
    if (endpoint < _options.voters) {
        gen = _voters[endpoint].generation;
    } else if (endpoint < _options.voters + _options.members) {
        gen = _members[endpoint - _options.voters].generation;
    } else {
        gen = _clients[endpoint - _options.voters - _options.members].generation;
    }
    return (static_cast<std::uint64_t>(endpoint) << 32) | (gen & generation_mask);
}

bool cluster_sim::route_alive(std::uint64_t route) const { return route_of(route >> 32) == route; }

// ---- time --------------------------------------------------------------------------------

void cluster_sim::schedule_voter_tick(std::size_t v) {
    const std::uint64_t gen = _voters[v].generation;
    _events.after(duration(_random.between(1, _options.voter_tick.count())),
                  [this, v, gen] { voter_tick(v, gen); });
}

void cluster_sim::voter_tick(std::size_t v, std::uint64_t gen) {
    auto& slot = _voters[v];
    if (slot.generation != gen || !slot.node) {
        return;
    }
    if (now() < slot.stalled_until) {
        _events.after(_options.voter_tick, [this, v, gen] { voter_tick(v, gen); });
        return;
    }
    trace(10, v, 0);
    slot.node->tick(now());
    drive_voter(v);
    // A backlog drains at most stall_reads a tick: a starved process catches up slowly.
    const std::size_t n = std::min(slot.held.size(), stall_reads);
    std::vector<std::pair<std::size_t, sim_msg>> batch(std::make_move_iterator(slot.held.begin()),
                                                       std::make_move_iterator(slot.held.begin() + n));
    slot.held.erase(slot.held.begin(), slot.held.begin() + n);
    for (auto& [from, msg] : batch) {
        deliver_to_voter(from, v, std::move(msg));
        if (slot.generation != gen) {
            return;
        }
    }
    _events.after(_options.voter_tick, [this, v, gen] { voter_tick(v, gen); });
}

void cluster_sim::schedule_member_tick(std::size_t m) {
    const std::uint64_t gen = _members[m].generation;
    _events.after(duration(_random.between(1, _options.member_tick.count())),
                  [this, m, gen] { member_tick(m, gen); });
}

void cluster_sim::member_tick(std::size_t m, std::uint64_t gen) {
    auto& slot = _members[m];
    if (slot.generation != gen || !slot.node) {
        return;
    }
    if (!slot.paused) {
        trace(11, m, 0);
        slot.node->tick(now());
        drive_member(m);
    }
    _events.after(_options.member_tick, [this, m, gen] { member_tick(m, gen); });
}

void cluster_sim::schedule_client_tick(std::size_t c) {
    _events.after(duration(_random.between(1, 50'000'000)), [this, c] { client_tick(c); });
}

void cluster_sim::client_tick(std::size_t c) {
    _clients[c].sub->tick(now());
    drive_client(c);
    _events.after(50ms, [this, c] { client_tick(c); });
}

// ---- delivery ----------------------------------------------------------------------------

void cluster_sim::deliver(std::size_t from, std::size_t to, sim_msg m) {
    if (m.ch == sim_msg::channel::reply && !route_alive(m.route)) {
        return; // the requester died since
    }
    trace(1, from * 1024 + to, m.msg.index());
    if (to < _options.voters) {
        auto& slot = _voters[to];
        if (!slot.node) {
            return;
        }
        if (now() < slot.stalled_until || !slot.held.empty()) {
            slot.held.emplace_back(from, std::move(m)); // behind what waits already
            return;
        }
        deliver_to_voter(from, to, std::move(m));
    } else if (to < _options.voters + _options.members) {
        const std::size_t mi = to - _options.voters;
        auto& slot = _members[mi];
        if (!slot.node) {
            return;
        }
        if (slot.paused) {
            slot.held.emplace_back(from, std::move(m));
            return;
        }
        deliver_to_member(mi, from, m);
    } else {
        const std::size_t c = to - _options.voters - _options.members;
        auto& cl = _clients[c];
        if (m.ch == sim_msg::channel::reply) {
            if (const auto* r = std::get_if<views::sync_reply>(&m.msg)) {
                auto it = std::find(cl.nodes.begin(), cl.nodes.end(), from);
                if (it != cl.nodes.end()) {
                    cl.sub->on_sync_reply(static_cast<std::size_t>(it - cl.nodes.begin()), *r, now());
                }
            }
        } else if (m.ch == sim_msg::channel::publish && !cl.deaf) {
            if (const auto* ch = std::get_if<views::view_change>(&m.msg)) {
                cl.sub->on_change(*ch, now());
            } else if (const auto* f = std::get_if<views::full_view>(&m.msg)) {
                cl.sub->on_full(f->view, now());
            } else if (const auto* e = std::get_if<views::node_event>(&m.msg)) {
                cl.events.push_back(*e);
            }
        }
        drive_client(c);
    }
}

void cluster_sim::deliver_to_voter(std::size_t from, std::size_t v, sim_msg m) {
    auto& slot = _voters[v];
    if (m.ch == sim_msg::channel::peer) {
        slot.node->on_peer(voter_id(static_cast<std::uint32_t>(from + 1)), m.msg, now());
    } else if (m.ch == sim_msg::channel::request) {
        slot.node->on_request(m.route, m.msg, now());
    }
    drive_voter(v);
}

void cluster_sim::deliver_to_member(std::size_t mi, std::size_t from, const sim_msg& m) {
    auto& slot = _members[mi];
    if (m.ch == sim_msg::channel::reply) {
        if (from < _options.voters) {
            slot.node->on_reply(from, m.msg, now());
        }
    } else if (m.ch == sim_msg::channel::publish) {
        slot.node->on_published(m.msg, now());
    } else if (m.ch == sim_msg::channel::request) {
        slot.node->on_request(m.route, m.msg, now());
    }
    drive_member(mi);
}

// ---- driving the nodes as the daemon does ------------------------------------------------

void cluster_sim::drive_voter(std::size_t v) {
    auto& slot = _voters[v];
    if (!slot.node) {
        return;
    }
    node::output out = slot.node->take_output();
    for (auto& [to, b] : out.early_to_voters) {
        _net->send(v, voter_endpoint(to.value() - 1), {sim_msg::channel::peer, std::move(b), 0});
    }
    // As the daemon does: a batch that only moves the commit index is written after the sends
    // (the simulation writes at once either way; a crash loses what was not written).
    const bool write_last = out.persist_last();
    for (const auto& rd : out.persist) {
        if (write_last) {
            break;
        }
        if (auto err = slot.disk.save(rd)) {
            fail("storage: " + err->message);
            return;
        }
    }
    for (auto& [to, b] : out.to_voters) {
        _net->send(v, voter_endpoint(to.value() - 1), {sim_msg::channel::peer, std::move(b), 0});
    }
    for (auto& [route, b] : out.replies) {
        _net->send(v, static_cast<std::size_t>(route >> 32), {sim_msg::channel::reply, std::move(b), route});
    }
    // Every view this voter publishes is checked, intermediate ones included.
    for (const auto& b : out.published) {
        auto& last = _voter_view[v];
        if (const auto* c = std::get_if<views::view_change>(&b)) {
            if (last && last->id.next() == c->id) {
                last = views::apply_change(*last, *c);
                record_view(*last, slot.config.name);
            } else {
                last.reset();
            }
        } else if (const auto* f = std::get_if<views::full_view>(&b)) {
            last = f->view;
            record_view(*last, slot.config.name);
        }
        publish(voter_endpoint(v), b);
    }
    for (const auto& rd : out.persist) {
        if (!write_last) {
            break;
        }
        if (auto err = slot.disk.save(rd)) {
            fail("storage: " + err->message);
            return;
        }
    }
    for (const auto& e : slot.node->take_events()) {
        if (on_voter_event) {
            on_voter_event(v, e);
        }
    }
    check_voter_view(v);
}

void cluster_sim::drive_member(std::size_t m) {
    auto& slot = _members[m];
    if (!slot.node) {
        return;
    }
    node::output out = slot.node->take_output();
    for (auto& [endpoint, b] : out.to_endpoints) {
        _net->send(member_endpoint(m), voter_endpoint(endpoint),
                   {sim_msg::channel::request, std::move(b), route_of(member_endpoint(m))});
    }
    for (auto& [route, b] : out.replies) {
        _net->send(member_endpoint(m), static_cast<std::size_t>(route >> 32),
                   {sim_msg::channel::reply, std::move(b), route});
    }
    for (const auto& b : out.published) {
        if (const auto* e = std::get_if<views::node_event>(&b)) {
            slot.published_events.push_back(*e);
        }
        publish(member_endpoint(m), b);
    }
    if (slot.node->view().id != view_id()) {
        record_view(slot.node->view(), member_name(m));
    }
}

void cluster_sim::drive_client(std::size_t c) {
    auto& cl = _clients[c];
    for (const auto& d : cl.sub->take_deliveries()) {
        check_delivery(c, d);
        cl.deliveries.push_back(d);
    }
    if (auto q = cl.sub->take_request()) {
        _net->send(client_endpoint(c), cl.nodes[q->endpoint],
                   {sim_msg::channel::request, q->msg, route_of(client_endpoint(c))});
    }
}

void cluster_sim::publish(std::size_t from, const wire::body& b) {
    for (std::size_t to : _subscribers_of[from]) {
        _net->send(from, to, {sim_msg::channel::publish, b, 0});
    }
}

// ---- checks ------------------------------------------------------------------------------

void cluster_sim::record_view(const views::view& v, const std::string& who) {
    if (v.leader != views::leader_of(v)) {
        fail(fmt::format("leader: view {} at {} names leader {} but the lowest id is {}", v.id, who, v.leader,
                         views::leader_of(v)));
        return;
    }
    for (std::size_t i = 1; i < v.members.size(); ++i) {
        if (!(v.members[i - 1].id < v.members[i].id)) {
            fail(fmt::format("view {} at {} is not sorted by member id", v.id, who));
            return;
        }
    }
    const std::uint64_t h = view_digest(v);
    auto [it, inserted] = _view_hash.emplace(v.id, h);
    if (!inserted) {
        if (it->second != h) {
            fail(fmt::format("agreement: view {} at {} differs from the view {} recorded before", v.id, who,
                             v.id));
        }
        return;
    }
    ++_view_changes;
    _view_leader[v.id] = {v.leader, v.fencing_token};
    if (auto prev = _view_leader.find(v.id.prev()); prev != _view_leader.end()) {
        const auto [leader, token] = prev->second;
        const view_id expected = v.leader == leader ? token : v.id;
        if (v.leader != member_id() && v.fencing_token != expected) {
            fail(fmt::format("fencing: view {} gives leader {} token {}, expected {}", v.id, v.leader,
                             v.fencing_token, expected));
            return;
        }
    }
    if (v.id > _newest.id) {
        for (const auto& r : v.removed) {
            std::string name;
            for (const auto& m : _newest.members) {
                if (m.id == r.id) {
                    name = m.name;
                }
            }
            _removals.push_back({v.id, name, r.id, r.reason, now()});
        }
        _newest = v;
    }
    if (_options.verbose) {
        std::printf("%10.3f  view %llu: %zu members, leader %llu (token %llu)\n",
                    to_ms(now().time_since_epoch()), static_cast<unsigned long long>(v.id.value()),
                    v.members.size(), static_cast<unsigned long long>(v.leader.value()),
                    static_cast<unsigned long long>(v.fencing_token.value()));
    }
}

bool cluster_sim::forge_term(std::size_t to, std::size_t from, consensus::message_body body) {
    auto& slot = _voters[to];
    if (!slot.node || to == from || _violation) {
        return false;
    }
    if (auto* snap = std::get_if<consensus::snapshot_request>(&body)) {
        snap->data = wire::encode_snapshot(slot.node->state().snapshot());
    }
    const auto term = std::visit([](const auto& b) { return b.term; }, body);
    trace(12, from * 1024 + to, body.index());
    if (_options.verbose) {
        std::printf("%10.3f  forged consensus message (kind %zu, term %llu) %zu -> %zu\n",
                    to_ms(now().time_since_epoch()), body.index(),
                    static_cast<unsigned long long>(term.value()), from + 1, to + 1);
    }
    const consensus::raft& r = slot.node->consensus();
    const auto state = [&] {
        return std::make_tuple(r.term(), r.vote(), r.role(), r.leader(), r.commit_index());
    };
    const auto before = state();
    const auto refused = r.counters().dropped_invalid;
    slot.node->on_peer(voter_id(static_cast<std::uint32_t>(from + 1)),
                       std::visit([](auto&& b) { return wire::body(std::move(b)); }, std::move(body)), now());
    ++_forged;
    if (r.counters().dropped_invalid != refused + 1 || state() != before) {
        fail(fmt::format("voter {} did not refuse a forged consensus message of term {} (now at term {})",
                         to + 1, term, r.term()));
    }
    drive_voter(to);
    return true;
}

void cluster_sim::check_voter_view(std::size_t v) {
    if (_voters[v].node->consensus().term() > consensus::max_term) {
        fail(fmt::format("voter {} is at term {}, past the largest term {}", v + 1,
                         _voters[v].node->consensus().term(), consensus::max_term));
        return;
    }
    const views::view& view = _voters[v].node->view();
    auto& last = _voter_view[v];
    if (last && last->id == view.id) {
        if (view_digest(*last) != view_digest(view)) {
            fail(fmt::format("voter {}: the views it published do not add up to the view it holds ({})",
                             v + 1, view.id));
        }
        return;
    }
    if (view.id != view_id()) {
        record_view(view, _voters[v].config.name);
    }
    last = view;
}

void cluster_sim::check_delivery(std::size_t c, const views::delivery& d) {
    auto& cl = _clients[c];
    const std::string who = fmt::format("client {}", c);
    if (!cl.deliveries.empty()) {
        const auto& last = cl.deliveries.back().current;
        if (!(d.current.id > last.id)) {
            fail(fmt::format("order: {} got view {} after view {}", who, d.current.id, last.id));
            return;
        }
        if (!d.resync && d.current.id != last.id.next()) {
            fail(fmt::format("order: {} got view {} after view {} without a resync", who, d.current.id,
                             last.id));
            return;
        }
        if (d.current.fencing_token < last.fencing_token) {
            fail(fmt::format("fencing: {} saw the token go from {} to {}", who, last.fencing_token,
                             d.current.fencing_token));
            return;
        }
    }
    record_view(d.current, who);
}

// ---- faults ------------------------------------------------------------------------------

std::optional<std::size_t> cluster_sim::leader() const {
    std::optional<std::size_t> best;
    for (std::size_t v = 0; v < _voters.size(); ++v) {
        const auto& n = _voters[v].node;
        if (n && n->consensus().role() == consensus::role::leader &&
            (!best || n->consensus().term() > _voters[*best].node->consensus().term())) {
            best = v;
        }
    }
    return best;
}

void cluster_sim::crash_voter(std::size_t v) {
    auto& slot = _voters[v];
    if (!slot.node) {
        return;
    }
    trace(20, v, 0);
    slot.node.reset();
    slot.held.clear();
    slot.stalled_until = {};
    ++slot.generation;
}

void cluster_sim::stall_voter(std::size_t v, duration d) {
    auto& slot = _voters[v];
    if (slot.node) {
        trace(26, v, static_cast<std::uint64_t>(d.count()));
        slot.stalled_until = std::max(slot.stalled_until, now() + d);
    }
}

void cluster_sim::restart_voter(std::size_t v) {
    auto& slot = _voters[v];
    if (slot.node) {
        return;
    }
    trace(21, v, 0);
    ++slot.generation;
    slot.config.incarnation = incarnation_number(++slot.incarnation);
    slot.node = std::make_unique<node::voter_node>(slot.config, _random.fork(), slot.disk.recovered(), now());
    _voter_view.erase(v);
    drive_voter(v);
    schedule_voter_tick(v);
}

void cluster_sim::crash_member(std::size_t m) {
    auto& slot = _members[m];
    if (!slot.node) {
        return;
    }
    trace(22, m, 0);
    slot.node.reset();
    slot.paused = false;
    slot.held.clear();
    ++slot.generation;
}

void cluster_sim::restart_member(std::size_t m) {
    auto& slot = _members[m];
    if (slot.node) {
        return;
    }
    trace(23, m, 0);
    ++slot.generation;
    slot.config.incarnation = incarnation_number(++slot.incarnation * 1000);
    slot.node = std::make_unique<node::member_node>(slot.config, now());
    drive_member(m);
    schedule_member_tick(m);
}

void cluster_sim::pause_member(std::size_t m) {
    if (_members[m].node) {
        trace(24, m, 0);
        _members[m].paused = true;
    }
}

void cluster_sim::resume_member(std::size_t m) {
    auto& slot = _members[m];
    if (!slot.node || !slot.paused) {
        return;
    }
    trace(25, m, 0);
    slot.paused = false;
    auto held = std::move(slot.held);
    slot.held.clear();
    for (auto& [from, msg] : held) {
        if (msg.ch == sim_msg::channel::reply && !route_alive(msg.route)) {
            continue;
        }
        deliver_to_member(m, from, msg);
        if (!slot.node || slot.paused) {
            break;
        }
    }
    if (slot.node) {
        slot.node->tick(now());
        drive_member(m);
    }
}

void cluster_sim::leave_member(std::size_t m) {
    if (_members[m].node && !_members[m].paused) {
        _members[m].node->leave(now());
        drive_member(m);
    }
}

void cluster_sim::operator_remove(std::size_t m, std::size_t via) {
    if (_voters[via].node && !_clients.empty()) {
        _voters[via].node->on_request(route_of(client_endpoint(0)),
                                      membership::remove_request{1, member_id(), member_name(m)}, now());
        drive_voter(via);
    }
}

const views::view& cluster_sim::newest_view() const { return _newest; }

member_id cluster_sim::id_in_view(std::size_t m) const {
    for (const auto& mem : _newest.members) {
        if (mem.name == member_name(m)) {
            return mem.id;
        }
    }
    return member_id();
}

} // namespace roster::sim
