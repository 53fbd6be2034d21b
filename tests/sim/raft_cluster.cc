#include "tests/sim/raft_cluster.hh"

#include <cstdio>
#include <cstring>
#include <tuple>

#include <fmt/format.h>

#include "tests/sim/hash.hh"

namespace roster::sim {

using namespace roster::consensus;

namespace {

std::uint64_t entry_hash(const entry& e) {
    return hash_bytes(e.data, mix(mix(e.index.value(), e.term.value()), static_cast<std::uint64_t>(e.kind)));
}

// The simulated state machine's snapshot: how far it applied and the chain hash of it.
bytes encode_snapshot(log_index index, std::uint64_t chain) {
    bytes b(16);
    const std::uint64_t i = index.value();
    std::memcpy(b.data(), &i, 8);
    std::memcpy(b.data() + 8, &chain, 8);
    return b;
}

std::pair<log_index, std::uint64_t> decode_snapshot(const bytes& b) {
    std::uint64_t i = 0, chain = 0;
    if (b.size() == 16) {
        std::memcpy(&i, b.data(), 8);
        std::memcpy(&chain, b.data() + 8, 8);
    }
    return {log_index(i), chain};
}

const char* body_name(const message_body& b) {
    static const char* names[] = {"vote_request", "vote_reply", "append",
                                  "append_reply", "snapshot",   "snapshot_reply"};
    return names[b.index()];
}

} // namespace

raft_cluster::raft_cluster(const raft_cluster_options& options)
    : _options(options)
    , _random(options.seed) {
    _network = std::make_unique<sim_network<message>>(
        options.voters, _events, _random.fork(),
        [this](std::size_t from, std::size_t to, message m) { deliver(from, to, std::move(m)); });
    std::vector<voter_id> ids;
    for (std::size_t i = 0; i < options.voters; ++i) {
        ids.emplace_back(static_cast<std::uint32_t>(i + 1));
    }
    _voters.resize(options.voters);
    for (std::size_t i = 0; i < options.voters; ++i) {
        voter& v = _voters[i];
        v.config = options.base;
        v.config.id = ids[i];
        v.config.voters = ids;
        v.r = std::make_unique<raft>(v.config, _random.fork(), persisted_state{});
        // Start the clocks out of phase.
        const std::uint64_t gen = v.generation;
        _events.after(duration(_random.between(0, options.tick.count())), [this, i, gen] {
            if (_voters[i].generation == gen) {
                schedule_tick(i);
            }
        });
    }
}

raft_cluster::~raft_cluster() = default;

void raft_cluster::fail(std::string what) {
    if (!_violation) {
        _violation = fmt::format("t={:.3f}s: {}", to_ms(_events.now().time_since_epoch()) / 1000.0, what);
    }
}

void raft_cluster::trace(std::uint64_t kind, std::uint64_t a, std::uint64_t b, std::uint64_t c) {
    _trace = mix(
        mix(mix(mix(mix(_trace, static_cast<std::uint64_t>(_events.now().time_since_epoch().count())), kind),
                a),
            b),
        c);
    ++_event_count;
}

bool raft_cluster::run_for(duration d) {
    const mono_time end = _events.now() + d;
    while (!_violation && !_events.empty() && _events.next_time() <= end) {
        _events.run_next();
    }
    if (!_violation) {
        _events.advance_to(end);
    }
    return !_violation;
}

void raft_cluster::schedule_tick(std::size_t i) {
    voter& v = _voters[i];
    const auto interval =
        duration(static_cast<duration::rep>(static_cast<double>(_options.tick.count()) / v.speed));
    const std::uint64_t gen = v.generation;
    _events.after(interval, [this, i, gen] {
        voter& w = _voters[i];
        if (w.generation != gen || !w.r) {
            return;
        }
        trace(0, i, 0, 0);
        w.r->tick();
        after_input(i);
        if (_voters[i].generation == gen) {
            schedule_tick(i);
        }
    });
}

void raft_cluster::deliver(std::size_t from, std::size_t to, message m) {
    voter& v = _voters[to];
    if (!v.r) {
        return;
    }
    const auto term = std::visit([](const auto& b) { return b.term.value(); }, m.body);
    trace(1, from * 16 + to, m.body.index(), term);
    if (_options.verbose) {
        std::printf("%10.3f  %zu -> %zu  %s term %llu\n", to_ms(_events.now().time_since_epoch()), from + 1,
                    to + 1, body_name(m.body), static_cast<unsigned long long>(term));
    }
    v.r->step(m);
    after_input(to);
}

std::optional<log_index> raft_cluster::propose(std::size_t i, bytes data) {
    voter& v = _voters[i];
    if (!v.r || v.r->role() != role::leader) {
        return std::nullopt;
    }
    trace(2, i, data.size(), 0);
    auto index = v.r->propose(std::move(data));
    after_input(i);
    return index ? std::optional<log_index>(*index) : std::nullopt;
}

bool raft_cluster::forge_term(std::size_t to, std::size_t from, message_body body) {
    voter& v = _voters[to];
    if (!v.r || from == to || _violation) {
        return false;
    }
    const raft& r = *v.r;
    const auto term = std::visit([](const auto& b) { return b.term; }, body);
    trace(5, from * 16 + to, body.index(), term.value());
    if (_options.verbose) {
        std::printf("%10.3f  forged %zu -> %zu  %s term %llu\n", to_ms(_events.now().time_since_epoch()),
                    from + 1, to + 1, body_name(body), static_cast<unsigned long long>(term.value()));
    }
    const auto before = std::make_tuple(r.term(), r.vote(), r.role(), r.leader(), r.commit_index(),
                                        r.log().last_index(), r.log().last_term());
    const auto refused = r.counters().dropped_invalid;
    v.r->step({v.config.voters[from], v.config.id, std::move(body)});
    ++_forged;
    const auto after = std::make_tuple(r.term(), r.vote(), r.role(), r.leader(), r.commit_index(),
                                       r.log().last_index(), r.log().last_term());
    if (r.counters().dropped_invalid != refused + 1 || after != before || r.has_ready()) {
        fail(fmt::format("voter {} did not refuse a forged message of term {} (now at term {}, {} refused)",
                         to + 1, term, r.term(), r.counters().dropped_invalid - refused));
    }
    after_input(to);
    return true;
}

void raft_cluster::crash(std::size_t i) {
    voter& v = _voters[i];
    if (!v.r) {
        return;
    }
    trace(3, i, 0, 0);
    if (_options.verbose) {
        std::printf("%10.3f  voter %zu crashes\n", to_ms(_events.now().time_since_epoch()), i + 1);
    }
    v.r.reset();
    ++v.generation;
    v.applied = log_index();
    v.applied_chain = 0;
}

void raft_cluster::restart(std::size_t i) {
    voter& v = _voters[i];
    if (v.r) {
        return;
    }
    trace(4, i, 0, 0);
    if (_options.verbose) {
        std::printf("%10.3f  voter %zu restarts\n", to_ms(_events.now().time_since_epoch()), i + 1);
    }
    ++v.generation;
    v.r = std::make_unique<raft>(v.config, _random.fork(), v.disk.recovered());
    v.checked_commit = v.base; // re-check what it recovered against the record
    schedule_tick(i);
    after_input(i);
}

std::optional<std::size_t> raft_cluster::leader() const {
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < _voters.size(); ++i) {
        const auto& v = _voters[i];
        if (v.r && v.r->role() == role::leader && (!best || v.r->term() > _voters[*best].r->term())) {
            best = i;
        }
    }
    return best;
}

std::optional<std::uint64_t> raft_cluster::chain_at(const voter& v, log_index i) const {
    if (i < v.base || i - v.base >= v.chain.size()) {
        return std::nullopt;
    }
    return v.chain[i - v.base];
}

void raft_cluster::after_input(std::size_t i) {
    voter& v = _voters[i];
    const std::uint64_t gen = v.generation;
    while (v.r && v.r->has_ready() && !_violation) {
        ready rd = v.r->take_ready();
        // A leader's appends leave before its own write (Raft thesis §10.2.1).
        for (auto& m : rd.early_messages) {
            _network->send(i, m.to.value() - 1, std::move(m));
        }
        if (_options.crash_between_send_and_persist > 0 && !rd.early_messages.empty() && rd.must_persist() &&
            _random.chance(_options.crash_between_send_and_persist)) {
            crash(i); // sent, but not persisted: followers may hold entries this leader lost
            return;
        }
        persist(i, rd);
        // Record commits before applying, so that applied entries are checked against them.
        const bool leader_committed = v.r->role() == role::leader && v.r->commit_index() > v.checked_commit;
        {
            const log_index c = v.r->commit_index();
            for (log_index idx = v.checked_commit.next(); idx <= c && !_violation; ++idx) {
                const auto h = chain_at(v, idx);
                if (!h) {
                    continue; // covered by a snapshot, checked when it was applied
                }
                if (idx.value() <= _committed.size()) {
                    if (_committed[idx.value() - 1] != *h) {
                        fail(fmt::format(
                            "voter {} commits a different entry at index {} than was committed before", i + 1,
                            idx));
                    }
                } else if (idx.value() == _committed.size() + 1) {
                    _committed.push_back(*h);
                    _committed_in_term.push_back(v.r->term());
                    _max_committed_by_term[v.r->term()] = idx;
                } else {
                    fail(fmt::format("voter {} commits index {} while the record ends at {}", i + 1, idx,
                                     _committed.size()));
                }
            }
            v.checked_commit = std::max(v.checked_commit, c);
        }
        if (_options.crash_between_persist_and_send > 0 && !rd.messages.empty() &&
            _random.chance(_options.crash_between_persist_and_send)) {
            crash(i); // persisted, but nothing sent and nothing applied
            return;
        }
        for (auto& m : rd.messages) {
            _network->send(i, m.to.value() - 1, std::move(m));
        }
        if (leader_committed && _options.crash_leader_after_commit > 0 &&
            _random.chance(_options.crash_leader_after_commit)) {
            crash(i);
            return;
        }
        apply(i, rd);
        if (v.generation != gen) {
            return;
        }
        if (v.r && v.applied - v.r->log().snapshot_point().index >= _options.compact_every) {
            v.r->compact(v.applied,
                         std::make_shared<const bytes>(encode_snapshot(v.applied, v.applied_chain)));
        }
    }
    if (!_violation) {
        check();
    }
}

void raft_cluster::persist(std::size_t i, const ready& rd) {
    voter& v = _voters[i];
    if (auto err = v.disk.save(rd)) {
        fail("memory storage failed: " + err->message);
        return;
    }
    if (rd.persist_snapshot) {
        const auto [idx, chain] = decode_snapshot(*rd.persist_snapshot->data);
        if (idx != rd.persist_snapshot->meta.index) {
            fail(fmt::format("voter {}: snapshot at {} claims index {}", i + 1,
                             rd.persist_snapshot->meta.index, idx));
            return;
        }
        if (rd.snapshot_replaces_log) {
            v.base = idx;
            v.chain.assign(1, chain);
        } else {
            const auto here = chain_at(v, idx);
            if (!here || *here != chain) {
                fail(fmt::format("voter {}: local snapshot at {} does not match its log", i + 1, idx));
                return;
            }
            v.chain.erase(v.chain.begin(), v.chain.begin() + static_cast<std::ptrdiff_t>(idx - v.base));
            v.base = idx;
        }
    }
    if (!rd.entries.empty()) {
        const log_index from = rd.entries.front().index;
        if (from <= v.base || from - v.base > v.chain.size()) {
            fail(fmt::format("voter {}: persisted entries from {} do not follow its log ({}, {}]", i + 1,
                             from, v.base, v.base + (v.chain.size() - 1)));
            return;
        }
        v.chain.resize(from - v.base);
        for (const entry& e : rd.entries) {
            const std::uint64_t h = mix(v.chain.back(), entry_hash(e));
            v.chain.push_back(h);
            // Log matching (Raft §5.3): same index and term => same entries up to there.
            const auto key = std::make_pair(e.index.value(), e.term.value());
            auto [it, inserted] = _entry_chain.emplace(key, h);
            if (!inserted && it->second != h) {
                fail(fmt::format("log matching: voter {} holds entry ({}, term {}) with a different history",
                                 i + 1, e.index, e.term));
                return;
            }
        }
    }
}

void raft_cluster::apply(std::size_t i, const ready& rd) {
    voter& v = _voters[i];
    if (rd.apply_snapshot) {
        const auto [idx, chain] = decode_snapshot(*rd.apply_snapshot->data);
        if (idx.value() > _committed.size() || (idx.value() > 0 && _committed[idx.value() - 1] != chain)) {
            fail(fmt::format("voter {} applies a snapshot at {} that does not match what was committed",
                             i + 1, idx));
            return;
        }
        v.applied = idx;
        v.applied_chain = chain;
    }
    for (const entry& e : rd.committed) {
        if (e.index != v.applied.next()) {
            fail(fmt::format("voter {} applies index {} after {}", i + 1, e.index, v.applied));
            return;
        }
        v.applied_chain = mix(v.applied_chain, entry_hash(e));
        v.applied = e.index;
        if (e.index.value() > _committed.size() || _committed[e.index.value() - 1] != v.applied_chain) {
            fail(fmt::format(
                "state machine safety: voter {} applies at index {} an entry other than the committed "
                "one",
                i + 1, e.index));
            return;
        }
    }
}

void raft_cluster::check() {
    const std::size_t quorum = _voters.size() / 2 + 1;
    for (std::size_t i = 0; i < _voters.size(); ++i) {
        const voter& v = _voters[i];
        if (v.r && v.r->term() > max_term) {
            fail(fmt::format("voter {} is at term {}, past the largest term {}", i + 1, v.r->term(),
                             max_term));
            return;
        }
        if (!v.r || v.r->role() != role::leader) {
            continue;
        }
        const raft_term t = v.r->term();
        // Election safety (Raft §5.2).
        auto [it, inserted] = _leader_of_term.emplace(t, i);
        if (!inserted && it->second != i) {
            fail(fmt::format("election safety: voters {} and {} are both leaders of term {}", it->second + 1,
                             i + 1, t));
            return;
        }
        // Leader completeness (Raft §5.4): everything committed in earlier terms is in its log.
        log_index needed;
        for (const auto& [term, idx] : _max_committed_by_term) {
            if (term >= t) {
                break;
            }
            needed = std::max(needed, idx);
        }
        if (needed > log_index()) {
            const log_index at = std::max(needed, v.base);
            const auto h = chain_at(v, at);
            if (!h || *h != _committed[at.value() - 1]) {
                fail(fmt::format("leader completeness: voter {}, leader of term {}, lacks committed index {}",
                                 i + 1, t, needed));
                return;
            }
        }
    }
    // Durability: the newest committed entry (and with it, by the chain hash, all before it) is
    // on the durable log of a majority.
    if (!_committed.empty()) {
        const log_index c(_committed.size());
        std::size_t holders = 0;
        for (const voter& v : _voters) {
            const auto h = chain_at(v, c);
            holders += h && *h == _committed.back() ? 1 : 0;
        }
        if (holders < quorum) {
            fail(fmt::format("durability: committed index {} is on the disks of only {} voters", c, holders));
            return;
        }
    }
    const auto current = leader();
    if (current && current != _last_leader) {
        if (_last_leader) {
            ++_leader_changes;
        }
        _last_leader = current;
        if (_options.verbose) {
            std::printf("%10.3f  voter %zu leads term %llu\n", to_ms(_events.now().time_since_epoch()),
                        *current + 1, static_cast<unsigned long long>(_voters[*current].r->term().value()));
        }
    }
}

} // namespace roster::sim
